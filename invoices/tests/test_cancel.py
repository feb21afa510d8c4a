"""`POST /invoices/{id}/cancel/`: a reason-1 credit note created and finalized, the
invoice cancelled, all in one transaction."""

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from billing.models import DocumentType, Event
from customers.tests.factories import CustomerFactory
from invoices.choices import InvoiceStatus
from invoices.models import CreditNote, Invoice
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.services.notes import credit_note_create, note_finalize
from tests.conftest import make_tenant
from tests.numbers import D

pytestmark = pytest.mark.django_db


def issued(tenant, *, document=33, customer=None, finalize=True):
    invoice = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=customer or CustomerFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=document),
        date=date(2026, 3, 2),
        lines=[
            {"name": "Plan", "amount": Decimal(10000), "quantity": Decimal(3)},
            {"name": "Setup", "amount": Decimal(4990), "discount": Decimal(10)},
        ],
        discount=Decimal(5),
    )
    return invoice_finalize(invoice=invoice, now=timezone.now()) if finalize else invoice


def test_cancel_annuls_the_invoice_with_a_finalized_credit_note(tenant):
    invoice = issued(tenant)

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["amount_due"]) == (invoice.id, "cancelled", D("0"))
    invoice.refresh_from_db()
    assert invoice.cancelled_at is not None
    notes = tenant.client.get("/creditnotes/", {"invoice": invoice.id}).json()["results"]
    assert len(notes) == 1
    note = notes[0]
    assert (note["status"], note["document"], note["reason"], note["number"]) == (
        "finalized",
        61,
        1,
        1,
    )
    assert note["total"] == body["total"] and note["tax"] == body["tax"]
    assert [line["name"] for line in note["lines"]] == ["Plan", "Setup"]
    assert note["references"][0] == {
        "document": "33",
        "serial": str(invoice.number),
        "date": "2026-03-02",
        "code": 1,
        "description": f"Anula Factura electrónica N° {invoice.number}",
    }
    types = list(Event.objects.order_by("created_at", "sequence").values_list("type", flat=True))
    assert types[-3:] == ["credit_note.created", "credit_note.finalized", "invoice.cancelled"]


@pytest.mark.parametrize(("document", "note_type"), [(39, 61), (34, 61), (43, 61), (110, 112)])
def test_cancel_picks_the_credit_note_type_of_the_invoice(tenant, document, note_type):
    # An export (110) goes to a buyer abroad.
    country = "US" if document == 110 else "CL"
    # A boleta's buyer need not have a tax id, a factura's must.
    extra = {"tax_id": ""} if document in (39, 110) else {}
    buyer = CustomerFactory(workspace=tenant.workspace, country_id=country, **extra)
    invoice = issued(tenant, document=document, customer=buyer)

    tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert CreditNote.objects.get(invoice=invoice).document_id == note_type


def test_cancel_elsewhere_uses_the_generic_credit_note():
    tenant = make_tenant(country="MX")
    customer = CustomerFactory(
        workspace=tenant.workspace, country_id="MX", currency_id="MXN", tax_id=""
    )
    invoice = issued(
        tenant, document=DocumentType.objects.get(country="MX", code="INV").pk, customer=customer
    )

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.json()["status"] == "cancelled"
    assert CreditNote.objects.get(invoice=invoice).document.code == "CN"


def test_a_draft_is_not_cancelled_but_deleted(tenant):
    invoice = issued(tenant, finalize=False)

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_invalid_transition"
    assert "delete" in response.json()["detail"]
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize(
    "status",
    [
        InvoiceStatus.CANCELLED,
        InvoiceStatus.UNCOLLECTIBLE,
        InvoiceStatus.PAID,
        InvoiceStatus.PENDING,
    ],
)
def test_only_finalized_invoices_are_cancelled(tenant, status):
    invoice = issued(tenant)
    Invoice.objects.filter(pk=invoice.pk).update(status=status)

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_invalid_transition"
    assert not CreditNote.objects.exists()


def test_cancelling_twice_is_a_409(tenant):
    invoice = issued(tenant)
    tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    again = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert again.status_code == 409
    assert CreditNote.objects.count() == 1


def test_an_invoice_already_corrected_by_notes_is_not_cancelled(tenant):
    invoice = issued(tenant)
    note = credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        reason=3,
        now=timezone.now(),
        lines=[{"name": "a", "amount": Decimal(100)}],
    )
    note_finalize(note=note, now=timezone.now())

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_has_notes"
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.FINALIZED


def test_cancel_is_one_transaction(tenant):
    invoice = issued(tenant)

    with (
        mock.patch("invoices.services.notes._cancel", side_effect=RuntimeError("crash")),
        pytest.raises(RuntimeError),
    ):
        tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    invoice.refresh_from_db()
    assert (invoice.status, invoice.cancelled_at) == (InvoiceStatus.FINALIZED, None)
    assert not CreditNote.objects.exists()
    assert not Event.objects.filter(type__startswith="credit_note.").exists()


def test_another_tenants_invoice_is_a_404(tenant, other_tenant):
    invoice = issued(other_tenant)

    assert tenant.client.post(f"/invoices/{invoice.id}/cancel/").status_code == 404
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.FINALIZED


def _pay(tenant, invoice, amount):
    response = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": amount})
    assert response.status_code == 201, response.content
    return response.json()


def test_a_partly_paid_invoice_is_not_cancelled(tenant):
    invoice = issued(tenant)
    _pay(tenant, invoice, "1000")

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_has_payments"
    assert "credit note" in response.json()["detail"]
    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert shown["status"] == "finalized"
    assert Decimal(shown["amount_due"]) == invoice.total_adjusted - 1000
    assert not CreditNote.objects.exists()


def test_a_paid_invoice_is_not_cancelled_because_of_its_payments(tenant):
    invoice = issued(tenant)
    tenant.client.post("/payments/", {"invoice": invoice.id})

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_has_payments"
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID


def test_an_invoice_whose_payments_were_refunded_is_cancelled(tenant):
    invoice = issued(tenant)
    payment = _pay(tenant, invoice, "1000")
    tenant.client.post(f"/payments/{payment['id']}/refund/", {})

    response = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["amount_due"]) == ("cancelled", D("0"))
