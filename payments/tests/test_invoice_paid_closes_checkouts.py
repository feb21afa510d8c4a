"""An invoice paid by other means (a payment recorded as received, a credit note that
covers what it owed) closes what was still open to pay it, as Stripe cancels the
PaymentIntent of an invoice paid out of band: its open intents and its payments waiting
for a payment method are cancelled, and paying any of them answers that the invoice is
paid, not that the intent's amount no longer matches."""

import pytest
from django.test import Client

from billing.models import Event
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways import sandbox
from payments.models import Intent, Payment
from payments.tests.conftest import open_intent_and_waiting_payment
from payments.tests.test_invoice_cancel_closes_checkouts import NOW
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def _pay_by_transfer(tenant: Tenant, invoice: Invoice) -> None:
    paid = tenant.client.post("/payments/", {"invoice": invoice.id}, format="json")
    assert (paid.status_code, paid.json()["status"]) == (201, "succeeded"), paid.content


def _cover_with_credit_note(tenant: Tenant, invoice: Invoice) -> None:
    note = tenant.client.post(
        "/creditnotes/",
        {"invoice": invoice.id, "reason": 3, "lines": [{"name": "Ajuste", "amount": "1000"}]},
        format="json",
    ).json()
    finalized = tenant.client.post(f"/creditnotes/{note['id']}/finalize/")
    assert finalized.status_code == 200, finalized.content


def _last_event(object_id: str) -> str:
    return Event.objects.filter(object_id=object_id).order_by("sequence").last().type


@pytest.mark.parametrize("pay", [_pay_by_transfer, _cover_with_credit_note])
def test_paying_the_invoice_otherwise_cancels_its_intents_and_waiting_payments(tenant, pay):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent_id, payment_id = open_intent_and_waiting_payment(tenant, invoice)

    pay(tenant, invoice)

    assert tenant.client.get(f"/invoices/{invoice.id}/").json()["status"] == "paid"
    intent = tenant.client.get(f"/intents/{intent_id}/").json()
    assert (intent["status"], intent["failed_reason"]) == ("cancelled", "invoice_paid")
    assert _last_event(intent_id) == "intent.cancelled"
    payment = tenant.client.get(f"/payments/{payment_id}/").json()
    assert (payment["status"], payment["failed_reason"]) == ("cancelled", "invoice_paid")
    assert _last_event(payment_id) == "payment.cancelled"


def test_paying_them_afterwards_says_the_invoice_is_paid(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent_id, payment_id = open_intent_and_waiting_payment(tenant, invoice)
    secrets = [
        tenant.client.get(f"/intents/{intent_id}/").json()["client_secret"],
        tenant.client.get(f"/payments/{payment_id}/").json()["client_secret"],
    ]
    _pay_by_transfer(tenant, invoice)
    source = services.source_create_sandbox_card(
        customer=invoice.customer, card_number=sandbox.SUCCEEDS, exp_month=1, exp_year=2030,
        now=NOW,
    )  # fmt: skip
    card = {"number": sandbox.SUCCEEDS, "exp_month": 12, "exp_year": 2034}

    refusals = [
        tenant.client.post(f"/intents/{intent_id}/confirm/", {"source": source.id}),
        tenant.client.post(f"/payments/{payment_id}/authorize/", {"source": source.id}),
        Client().post(
            f"/publishable/payments/{payment_id}/authorize/",
            {"client_secret": secrets[1], "card": card},
            content_type="application/json",
        ),
        *(
            Client().post(
                "/publishable/sources/",
                {"key": key, "card": card},
                content_type="application/json",
            )
            for key in secrets
        ),
    ]

    for refused in refusals:
        assert refused.status_code == 409, refused.content
        assert refused.json()["code"] == "invoice_not_payable"
        assert f"Invoice {invoice.id} is paid" in refused.json()["detail"]
    assert not Payment.objects.filter(source=source).exists()


def test_the_intent_that_pays_the_invoice_is_finalized_and_a_partial_payment_closes_nothing(
    tenant,
):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)  # 1,190
    paying, other = (
        tenant.client.post("/intents/", {"invoice": invoice.id}).json()["id"] for _ in range(2)
    )
    tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "190"}, format="json")
    assert Intent.objects.get(pk=other).status == "requires_payment_method"
    tenant.client.post(f"/intents/{paying}/cancel/")
    paying = tenant.client.post("/intents/", {"invoice": invoice.id}).json()["id"]
    source = services.source_create_sandbox_card(
        customer=invoice.customer, card_number=sandbox.SUCCEEDS, exp_month=1, exp_year=2030,
        now=NOW,
    )  # fmt: skip

    confirmed = tenant.client.post(f"/intents/{paying}/confirm/", {"source": source.id})

    assert confirmed.json()["status"] == "finalized", confirmed.content
    assert Intent.objects.get(pk=other).status == "cancelled"
    again = tenant.client.post(f"/intents/{paying}/confirm/", {"source": source.id})
    assert again.json()["code"] == "intent_invalid_transition"


@pytest.mark.parametrize("pay", [_pay_by_transfer, _cover_with_credit_note])
def test_the_invoice_paid_event_shows_its_waiting_payments_cancelled(tenant, pay):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    _, payment_id = open_intent_and_waiting_payment(tenant, invoice)

    pay(tenant, invoice)

    event = Event.objects.get(object_id=invoice.id, type="invoice.paid")
    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    waiting = [p["status"] for p in event.data["payments"] if p["payment"] == payment_id]
    assert waiting == ["cancelled"]
    assert event.data["payments"] == shown["payments"]
