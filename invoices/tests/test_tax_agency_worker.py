"""The tax-agency loop through a real Celery worker on Redis and PostgreSQL: beat's sweep
claims finalized documents, submits them to the sandbox agency and polls until it decides."""

import time

import pytest
from django.utils import timezone

from billing.choices import BillerStatus
from billing.clock import workspace_today
from billing.models import DocumentType, Event, SandboxSubmission
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.tasks import process_tax_agency_queue
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


def finalized_invoice(workspace, customer):
    invoice = invoice_create(
        workspace=workspace,
        test_mode=False,
        customer=customer,
        document=DocumentType.objects.get(pk=33),
        date=workspace_today(workspace, timezone.now()),
        lines=[{"name": "Subscription", "amount": 25990}],
    )
    return invoice_finalize(invoice=invoice, now=timezone.now())


def sweep_until(invoices, statuses, timeout=60.0):
    """Run the beat task every half second, as beat would, until every invoice is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process_tax_agency_queue.delay()
        current = dict(
            Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list(
                "id", "biller_status"
            )
        )
        if all(current[i.pk] in statuses for i in invoices):
            return current
        time.sleep(0.5)
    raise AssertionError(f"timed out: {current}")


def test_finalized_invoices_are_accepted_or_rejected_by_the_agency(broker, workspace, tmp_path):
    accepted = [
        finalized_invoice(workspace, CustomerFactory(workspace=workspace)) for _ in range(3)
    ]
    unregistered = CustomerFactory(workspace=workspace, tax_id="11111111-1")
    rejected = finalized_invoice(workspace, unregistered)
    assert {i.biller_status for i in [*accepted, rejected]} == {BillerStatus.PENDING}

    with running_worker(tmp_path, concurrency=4):
        final = sweep_until([*accepted, rejected], {BillerStatus.SUCCEEDED, BillerStatus.FAILED})

    assert final == {
        **{i.pk: BillerStatus.SUCCEEDED for i in accepted},
        rejected.pk: BillerStatus.FAILED,
    }
    for invoice in accepted:
        invoice.refresh_from_db()
        assert invoice.tax_agency["status"] == "accepted"
        assert invoice.tax_agency["response"]["upload_status"] == "EPR"
        assert (
            Event.objects.filter(object_id=invoice.pk, type="invoice.tax_agency_succeeded").count()
            == 1
        )
    rejected.refresh_from_db()
    assert rejected.tax_agency["reasons"][0]["code"] == "customer_not_registered"
    assert (
        Event.objects.filter(object_id=rejected.pk, type="invoice.tax_agency_failed").count() == 1
    )
    # Many sweeps and countdowns raced for the same documents; each was filed once.
    assert SandboxSubmission.objects.count() == 4
    assert sorted(SandboxSubmission.objects.values_list("key", flat=True)) == sorted(
        i.pk for i in [*accepted, rejected]
    )
