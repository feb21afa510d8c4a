"""Every allowed transition and a sample of forbidden ones; G11 immutability."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.choices import BillerStatus
from billing.clock import workspace_today
from billing.errors import DomainError
from billing.event_types import EVENT_TYPES
from billing.models import DocumentType, Event
from billing.tax_agency.sandbox import SandboxAgency
from customers.tests.factories import CustomerFactory
from invoices.choices import INVOICE_TRANSITIONS, InvoiceStatus
from invoices.models import Invoice
from invoices.services.filing import tax_agency_attempt, tax_agency_due
from invoices.services.invoices import (
    invoice_create,
    invoice_delete,
    invoice_finalize,
    invoice_toggle_uncollectible,
    invoice_update,
)
from payments.gateways import sandbox
from tests.numbers import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(tenant):
    return invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=workspace_today(tenant.workspace, timezone.now()),
        lines=[{"name": "Item", "amount": 1000}],
    )


def test_the_transition_table_is_what_the_rules_say():
    S = InvoiceStatus
    assert {
        (S.DRAFT, S.FINALIZED),
        (S.PENDING, S.FINALIZED),
        (S.FINALIZED, S.UNCOLLECTIBLE),
        (S.UNCOLLECTIBLE, S.FINALIZED),
        (S.FINALIZED, S.PAID),
        (S.FINALIZED, S.CANCELLED),
        # payments (payments/tests/test_invoice_transitions.py)
        (S.FINALIZED, S.PENDING),
        (S.PENDING, S.PAID),
        (S.UNCOLLECTIBLE, S.PAID),
        (S.PAID, S.FINALIZED),
    } == set(INVOICE_TRANSITIONS)


def test_draft_to_finalized(draft):
    assert invoice_finalize(invoice=draft, now=timezone.now()).status == InvoiceStatus.FINALIZED


def test_an_invoice_with_nothing_due_is_paid_as_it_is_finalized(tenant):
    # rules.md §2: paid when the amount due reaches 0, as Stripe marks a zero invoice paid.
    free = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=workspace_today(tenant.workspace, timezone.now()),
        lines=[{"name": "Onboarding", "amount": 1000, "discount": 100}],
    )
    now = timezone.now()

    invoice = invoice_finalize(invoice=free, now=now)

    assert (invoice.status, invoice.paid_at, invoice.number) == (InvoiceStatus.PAID, now, 1)
    events = Event.objects.filter(object_id=invoice.id).order_by("sequence")
    assert [e.type for e in events] == ["invoice.created", "invoice.finalized", "invoice.paid"]


def test_pending_to_finalized(draft):
    Invoice.objects.filter(pk=draft.pk).update(status=InvoiceStatus.PENDING)
    assert invoice_finalize(invoice=draft, now=timezone.now()).status == InvoiceStatus.FINALIZED


def test_finalized_to_uncollectible_and_back(draft):
    finalized = invoice_finalize(invoice=draft, now=timezone.now())
    marked = invoice_toggle_uncollectible(invoice=finalized, now=timezone.now())
    assert marked.status == InvoiceStatus.UNCOLLECTIBLE
    assert invoice_toggle_uncollectible(invoice=marked, now=timezone.now()).status == "finalized"


@pytest.mark.parametrize(
    "status",
    [
        InvoiceStatus.FINALIZED,
        InvoiceStatus.PAID,
        InvoiceStatus.CANCELLED,
        InvoiceStatus.UNCOLLECTIBLE,
    ],
)
def test_only_drafts_and_pending_finalize(draft, status):
    Invoice.objects.filter(pk=draft.pk).update(status=status)
    with pytest.raises(DomainError) as error:
        invoice_finalize(invoice=draft, now=timezone.now())
    assert error.value.code == "invoice_invalid_transition"


@pytest.mark.parametrize(
    "status", [InvoiceStatus.DRAFT, InvoiceStatus.PAID, InvoiceStatus.CANCELLED]
)
def test_uncollectible_needs_a_finalized_invoice(draft, status):
    Invoice.objects.filter(pk=draft.pk).update(status=status)
    with pytest.raises(DomainError):
        invoice_toggle_uncollectible(invoice=draft, now=timezone.now())


def test_an_invoice_without_lines_does_not_finalize(draft):
    invoice_update(invoice=draft, lines=[])
    with pytest.raises(DomainError) as error:
        invoice_finalize(invoice=draft, now=timezone.now())
    assert error.value.code == "invoice_without_lines"


@pytest.mark.parametrize(
    "write",
    [
        lambda invoice: invoice_update(invoice=invoice, note="changed"),
        lambda invoice: invoice_update(invoice=invoice, lines=[{"name": "x", "amount": 1}]),
        lambda invoice: invoice_delete(invoice=invoice),
    ],
)
def test_finalized_invoices_refuse_every_write(draft, write):
    finalized = invoice_finalize(invoice=draft, now=timezone.now())
    before = (finalized.total, finalized.note, list(finalized.lines.values_list("name", "total")))

    with pytest.raises(DomainError) as error:
        write(finalized)

    finalized.refresh_from_db()
    assert error.value.code == "invoice_not_draft"
    assert (
        finalized.total,
        finalized.note,
        list(finalized.lines.values_list("name", "total")),
    ) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_finalized_invoices_refuse_every_write_route(tenant, draft, method):
    invoice_finalize(invoice=draft, now=timezone.now())
    body = {"customer": draft.customer_id, "document": 33, "date": "2026-01-01", "note": "x"}

    response = getattr(tenant.client, method)(f"/invoices/{draft.id}/", body, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_draft"


# -- Finalize of a pending invoice (issue 13, item 2) ------------------------------------


@pytest.fixture
def agency_submissions(monkeypatch):
    """Every document the sandbox agency is handed, in order."""
    submitted = []
    submit = SandboxAgency.submit

    def counting_submit(agency, document, *, now):  # type: ignore[no-untyped-def]
        submitted.append((document["document_type"], document["folio"]))
        return submit(agency, document, now=now)

    monkeypatch.setattr(SandboxAgency, "submit", counting_submit)
    return submitted


def _file_with_agency(invoice, now):
    """Submit and poll the invoice the moment each step is due, as beat would."""
    at = now
    while (at := tax_agency_attempt(document_id=invoice.pk, clock=lambda: at)) is not None:
        pass
    invoice.refresh_from_db()
    return invoice


def _filed_invoice(tenant, draft):
    tenant.workspace.tax_id = "76086428-5"
    tenant.workspace.save()
    response = tenant.client.post(f"/invoices/{draft.id}/finalize/")
    assert response.status_code == 200, response.json()
    invoice = _file_with_agency(draft, timezone.now())
    assert invoice.biller_status == BillerStatus.SUCCEEDED
    return invoice


def _finalized_events(invoice):
    return Event.objects.filter(object_id=invoice.id, type="invoice.finalized").count()


def test_finalize_of_a_pending_invoice_waits_for_its_3ds_payment(tenant, draft, agency_submissions):
    invoice = _filed_invoice(tenant, draft)
    source = tenant.client.post(
        "/sources/",
        {
            "customer": invoice.customer_id,
            "card": {"number": sandbox.REQUIRES_AUTHENTICATION, "exp_month": 12, "exp_year": 2034},
        },
    ).json()
    payment = tenant.client.post("/payments/", {"invoice": invoice.id, "source": source["id"]})
    assert payment.json()["status"] == "processing"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PENDING
    before = (invoice.number, invoice.finalized_at, invoice.tax_agency_tracking_id)

    response = tenant.client.post(f"/invoices/{invoice.id}/finalize/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_payments_processing"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PENDING
    assert (invoice.number, invoice.finalized_at, invoice.tax_agency_tracking_id) == before
    assert invoice.biller_status == BillerStatus.SUCCEEDED
    assert _finalized_events(invoice) == 1
    assert tax_agency_due(now=timezone.now() + timedelta(days=1)) == []
    assert agency_submissions == [("33", invoice.number)]


def test_finalize_of_a_pending_invoice_whose_payments_succeeded_settles_it(
    tenant, draft, agency_submissions
):
    invoice = _filed_invoice(tenant, draft)
    partial = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "190"})
    assert partial.json()["status"] == "succeeded"
    # Left pending by a payment that has succeeded since: only its settling is missing.
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PENDING)
    finalized_at = invoice.finalized_at

    response = tenant.client.post(f"/invoices/{invoice.id}/finalize/")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["amount_due"]) == ("finalized", D("1000"))
    assert response.json()["biller_status"] == BillerStatus.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.finalized_at == finalized_at
    assert _finalized_events(invoice) == 1
    assert (
        _file_with_agency(invoice, timezone.now() + timedelta(days=1)).tax_agency["status"]
        == "accepted"
    )
    assert agency_submissions == [("33", invoice.number)]


def test_a_document_is_put_in_line_for_the_agency_once(tenant, draft):
    invoice = _filed_invoice(tenant, draft)

    with pytest.raises(DomainError) as error:
        invoice.queue_for_tax_agency()

    assert error.value.code == "document_already_filed"
    # Nor can the database be told otherwise: a submitted document keeps its tracking id.
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(biller_status=BillerStatus.PENDING)


def test_every_transition_records_a_known_event():
    assert set(INVOICE_TRANSITIONS.values()) <= EVENT_TYPES
