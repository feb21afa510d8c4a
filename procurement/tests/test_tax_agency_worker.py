"""The report loop for procurement documents through a real Celery worker on Redis and
PostgreSQL: the invoices' beat sweep files purchases, purchase credit notes and
retentions with the sandbox agency and polls until it decides."""

import time
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.choices import BillerStatus
from billing.clock import workspace_today
from billing.models import DocumentType, Event, SandboxSubmission
from invoices.tasks import process_tax_agency_queue
from procurement.models import Purchase, PurchaseCreditNote, Retention
from procurement.services.credit_notes import (
    purchase_credit_note_create,
    purchase_credit_note_finalize,
)
from procurement.services.purchases import purchase_create, purchase_finalize
from procurement.services.retentions import retention_create, retention_finalize
from procurement.tests.factories import SupplierFactory
from tests.workers import require_worker_services, running_worker, use_test_broker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def broker():
    require_worker_services()
    with use_test_broker() as url:
        yield url


@pytest.fixture
def workspace(tenant):
    tenant.workspace.tax_id = "76086428-5"
    tenant.workspace.save()
    return tenant.workspace


def finalized_purchase(workspace, supplier, document_id, number=None):
    purchase = purchase_create(
        workspace=workspace,
        test_mode=False,
        supplier=supplier,
        document=DocumentType.objects.get(pk=document_id),
        date=workspace_today(workspace, timezone.now()),
        number=number,
        lines=[{"name": "Insumos", "amount": 12990}],
    )
    return purchase_finalize(purchase=purchase, now=timezone.now())


def statuses(documents):
    found = {}
    for model in (Purchase, PurchaseCreditNote, Retention):
        found.update(
            model.objects.filter(pk__in=[d.pk for d in documents]).values_list(
                "id", "biller_status"
            )
        )
    return found


def sweep_until(documents, done, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process_tax_agency_queue.delay()
        current = statuses(documents)
        if all(current[d.pk] in done for d in documents):
            return current
        time.sleep(0.5)
    raise AssertionError(f"timed out: {current}")


def test_procurement_documents_are_reported_through_the_worker(broker, workspace, tmp_path):
    supplier = SupplierFactory(workspace=workspace)
    received = finalized_purchase(workspace, supplier, 33, number=4410)
    own = finalized_purchase(workspace, supplier, 46)
    credit = purchase_credit_note_finalize(
        credit_note=purchase_credit_note_create(
            workspace=workspace,
            test_mode=False,
            purchase=received,
            reason=3,
            date=workspace_today(workspace, timezone.now()),
            number=15,
            lines=[{"name": "Descuento", "amount": 1000}],
        ),
        now=timezone.now(),
    )
    retention = retention_finalize(
        retention=retention_create(
            workspace=workspace,
            test_mode=False,
            supplier=supplier,
            date=workspace_today(workspace, timezone.now()),
            amount=500000,
        ),
        now=timezone.now(),
    )
    unregistered = SupplierFactory(workspace=workspace, tax_id="11111111-1")
    rejected = finalized_purchase(workspace, unregistered, 33, number=1)
    accepted = [received, own, credit, retention]
    assert set(statuses([*accepted, rejected]).values()) == {BillerStatus.PENDING}

    with running_worker(tmp_path, concurrency=4):
        final = sweep_until([*accepted, rejected], {BillerStatus.SUCCEEDED, BillerStatus.FAILED})

    assert final == {
        **{d.pk: BillerStatus.SUCCEEDED for d in accepted},
        rejected.pk: BillerStatus.FAILED,
    }
    retention.refresh_from_db()
    assert retention.tax_agency["response"]["upload_status"] == "EPR"
    filed = SandboxSubmission.objects.get(key=retention.pk).payload
    assert filed["document_type"] == "BTE"
    assert filed["customer_tax_id"] == supplier.tax_id
    assert Decimal(filed["totals"]["retention"]) == retention.retention > 0
    credit_filed = SandboxSubmission.objects.get(key=credit.pk).payload
    assert credit_filed["references"][0]["serial"] == "4410"
    rejected.refresh_from_db()
    assert rejected.tax_agency["reasons"][0]["code"] == "customer_not_registered"
    for document, name in [
        (received, "purchase"),
        (own, "purchase"),
        (credit, "purchase_credit_note"),
        (retention, "retention"),
    ]:
        assert (
            Event.objects.filter(object_id=document.pk, type=f"{name}.tax_agency_succeeded").count()
            == 1
        )
    assert (
        Event.objects.filter(object_id=rejected.pk, type="purchase.tax_agency_failed").count() == 1
    )
    # Sweeps and countdowns raced for the same documents; each was filed once.
    assert SandboxSubmission.objects.count() == 5
