"""Every allowed transition and a sample of forbidden ones; G11 immutability."""

import pytest
from django.utils import timezone

from billing.errors import DomainError
from billing.models import DocumentType
from invoices.choices import INVOICE_TRANSITIONS, InvoiceStatus
from invoices.models import Invoice
from invoices.services import (
    invoice_create,
    invoice_delete,
    invoice_finalize,
    invoice_toggle_uncollectible,
    invoice_update,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(tenant):
    return invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=timezone.now().date(),
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
    } == INVOICE_TRANSITIONS


def test_draft_to_finalized(draft):
    assert invoice_finalize(invoice=draft, now=timezone.now()).status == InvoiceStatus.FINALIZED


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
