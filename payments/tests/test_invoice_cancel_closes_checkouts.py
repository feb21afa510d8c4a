"""An invoice that stops taking payments (cancelled, by `cancel` or by a reason-1 credit
note) closes what was open to pay it, as Stripe cancels a voided invoice's
PaymentIntent: its open intents are cancelled, its payments waiting for a payment method
are cancelled, what was open at Stripe is closed there by the sweep, and paying any of
them answers that the invoice is cancelled."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Event
from invoices.models import Invoice
from invoices.services.notes import credit_note_create, note_finalize
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways import sandbox
from payments.models import Intent, Payment
from payments.tests.conftest import create_customer, open_intent_and_waiting_payment
from tests.fake_stripe import FakeStripe, checkout_session_id

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 2, 1, 12, 0, tzinfo=datetime.UTC)


def _event_types(object_id: str) -> list[str]:
    return list(
        Event.objects.filter(object_id=object_id)
        .order_by("sequence")
        .values_list("type", flat=True)
    )


def _sandbox_card(invoice: Invoice) -> str:
    source = services.source_create_sandbox_card(
        customer=invoice.customer,
        card_number=sandbox.SUCCEEDS,
        exp_month=1,
        exp_year=2030,
        now=NOW,
    )
    return str(source.id)


def test_cancelling_the_invoice_cancels_its_intents_and_waiting_payments(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent_id, payment_id = open_intent_and_waiting_payment(tenant, invoice)

    cancelled = tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert cancelled.status_code == 200, cancelled.content
    intent = tenant.client.get(f"/intents/{intent_id}/").json()
    assert (intent["status"], intent["failed_reason"]) == ("cancelled", "invoice_cancelled")
    assert _event_types(intent_id)[-1] == "intent.cancelled"
    payment = tenant.client.get(f"/payments/{payment_id}/").json()
    assert (payment["status"], payment["failed_reason"]) == ("cancelled", "invoice_cancelled")
    assert _event_types(payment_id)[-1] == "payment.cancelled"


def test_the_invoice_cancelled_event_shows_its_waiting_payments_cancelled(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    _, payment_id = open_intent_and_waiting_payment(tenant, invoice)

    tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    event = Event.objects.get(object_id=invoice.id, type="invoice.cancelled")
    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert [(p["payment"], p["status"]) for p in event.data["payments"]] == [
        (payment_id, "cancelled")
    ]
    assert event.data["payments"] == shown["payments"]


def test_paying_them_afterwards_says_the_invoice_is_cancelled(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent_id, payment_id = open_intent_and_waiting_payment(tenant, invoice)
    tenant.client.post(f"/invoices/{invoice.id}/cancel/")
    source = _sandbox_card(invoice)

    confirmed = tenant.client.post(f"/intents/{intent_id}/confirm/", {"source": source})
    authorized = tenant.client.post(f"/payments/{payment_id}/authorize/", {"source": source})

    for refused in (confirmed, authorized):
        assert refused.status_code == 409, refused.content
        assert refused.json()["code"] == "invoice_not_payable"
        assert f"Invoice {invoice.id} is cancelled" in refused.json()["detail"]
    assert not Payment.objects.filter(source_id=source).exists()


def test_a_credit_note_that_annuls_the_invoice_cancels_them_too(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent_id, payment_id = open_intent_and_waiting_payment(tenant, invoice)
    note = credit_note_create(
        workspace=tenant.workspace, test_mode=False, invoice=invoice, reason=1, now=NOW
    )

    note_finalize(note=note, now=NOW)

    invoice.refresh_from_db()
    assert invoice.status == "cancelled"
    assert Intent.objects.get(pk=intent_id).status == "cancelled"
    assert Payment.objects.get(pk=payment_id).status == "cancelled"


def test_a_finished_intent_or_payment_is_left_as_it_was(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent_id, payment_id = open_intent_and_waiting_payment(tenant, invoice)
    tenant.client.post(f"/intents/{intent_id}/cancel/")
    tenant.client.post(f"/payments/{payment_id}/cancel/")

    tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    assert _event_types(intent_id).count("intent.cancelled") == 1
    assert _event_types(payment_id).count("payment.cancelled") == 1
    assert Intent.objects.get(pk=intent_id).failed_reason == ""


def test_the_intents_checkout_session_is_expired_at_stripe(stripe_tenant, fake_stripe: FakeStripe):
    customer = create_customer(stripe_tenant)
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    created = stripe_tenant.client.post("/intents/", {"invoice": invoice.id}, format="json")
    page = Client().get(f"/publishable/intents/{created.json()['client_secret']}/hosted/")
    assert page.status_code == 302, page.content
    session_id = checkout_session_id(page["Location"])

    cancelled = stripe_tenant.client.post(f"/invoices/{invoice.id}/cancel/")
    assert cancelled.status_code == 200, cancelled.content
    services.checkouts_expire_due(now=timezone.now())

    intent = Intent.objects.get(pk=created.json()["id"])
    assert (intent.status, intent.gateway_close_due) == ("cancelled", False)
    assert fake_stripe.client().v1.checkout.sessions.retrieve(session_id).status == "expired"


def test_the_payer_paying_a_waiting_payment_is_told_the_invoice_is_cancelled(
    stripe_tenant, fake_stripe: FakeStripe
):
    customer = create_customer(stripe_tenant)
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    _, payment_id = open_intent_and_waiting_payment(stripe_tenant, invoice)
    secret = stripe_tenant.client.get(f"/payments/{payment_id}/").json()["client_secret"]
    stripe_tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    refused = Client().post(
        f"/publishable/payments/{payment_id}/authorize/",
        {"client_secret": secret, "card": {"number": sandbox.SUCCEEDS, "exp_month": 12,
                                           "exp_year": 2034}},
        content_type="application/json",
    )  # fmt: skip

    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "invoice_not_payable"
    assert f"Invoice {invoice.id} is cancelled" in refused.json()["detail"]
    assert Payment.objects.get(pk=payment_id).source_id is None


def test_the_payer_saving_a_card_for_them_is_told_the_invoice_is_cancelled(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent_id, payment_id = open_intent_and_waiting_payment(tenant, invoice)
    keys = [
        tenant.client.get(f"/intents/{intent_id}/").json()["client_secret"],
        tenant.client.get(f"/payments/{payment_id}/").json()["client_secret"],
    ]
    tenant.client.post(f"/invoices/{invoice.id}/cancel/")

    for key in keys:
        refused = Client().post(
            "/publishable/sources/",
            {"key": key, "card": {"number": sandbox.SUCCEEDS, "exp_month": 12, "exp_year": 2034}},
            content_type="application/json",
        )

        assert refused.status_code == 409, refused.content
        assert refused.json()["code"] == "invoice_not_payable"
        assert f"Invoice {invoice.id} is cancelled" in refused.json()["detail"]
    assert not invoice.customer.sources.exists()
