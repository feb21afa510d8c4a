"""Money Stripe took for what was no longer owed (the invoice paid by other means
meanwhile, a charge given up on) is recorded as a Stripe payment and what is not owed is
refunded at Stripe and recorded as its refund: never dropped."""

import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from billing.models import Event
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.models import Intent, Payment, StripeEvent
from payments.tests.conftest import create_customer
from payments.tests.test_stripe_invoices import pay_in_stripe, sync_tenant, synced_invoice
from tests.conftest import Tenant
from tests.fake_stripe import FakeStripe, checkout_session_id, post_stripe_event, stripe_event

pytestmark = pytest.mark.django_db


def process(tenant: Tenant, event: dict[str, Any]) -> StripeEvent:
    assert post_stripe_event(tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    return services.stripe_event_process(event_id=stored.id, now=timezone.now())


def refunded_in_stripe(fake: FakeStripe, payment: Payment) -> list[tuple[int, str]]:
    return [
        (refund.amount, refund.payment_intent)
        for refund in (
            fake.client().v1.refunds.retrieve(r.gateway_reference) for r in payment.refunds.all()
        )
    ]


def events_of(payment: Payment) -> list[str]:
    events = Event.objects.filter(object_id=payment.id).order_by("sequence")
    return list(events.values_list("type", flat=True))


def pay_by_hand(tenant: Tenant, invoice_id: str, amount: str | None = None) -> None:
    body = {"invoice": invoice_id, **({"amount": amount} if amount else {})}
    response = tenant.client.post("/payments/", body, format="json")
    assert response.status_code == 201, response.content


def test_a_checkout_paid_after_the_invoice_was_paid_by_hand_is_refunded(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    link = stripe_tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id}, format="json"
    ).json()
    session_id = checkout_session_id(Client().get(link["url"])["Location"])
    pay_by_hand(stripe_tenant, invoice.id)  # a transfer arrives while the payer is at Stripe

    event = fake_stripe.complete_checkout(session_id)
    processed = process(stripe_tenant, event)
    resent = process(stripe_tenant, {**event, "id": event["id"] + "again"})

    assert processed.status == "processed", processed.outcome
    assert resent.status == "ignored"
    payment_intent = event["data"]["object"]["payment_intent"]
    payment = Payment.objects.get(gateway_reference=payment_intent)
    assert (payment.status, payment.gateway, payment.amount) == (
        "succeeded", "stripe", invoice.total
    )  # fmt: skip
    assert not payment.allocations.exists()
    assert payment.amount_refunded == invoice.total
    assert refunded_in_stripe(fake_stripe, payment) == [(int(invoice.total), payment_intent)]
    assert events_of(payment) == ["payment.created", "payment.succeeded", "payment.refunded"]
    shown = stripe_tenant.client.get(f"/payments/{payment.id}/").json()
    assert Decimal(str(shown["balance"])) == 0
    assert Invoice.objects.get(pk=invoice.id).status == "paid"
    intent = Intent.objects.get(payment_link_id=link["id"])
    assert intent.status == "cancelled"


def test_invoice_paid_in_stripe_after_ours_was_paid_by_hand_is_refunded(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    pay_by_hand(tenant, shown["id"])  # before the copy in Stripe is marked paid

    paid = pay_in_stripe(fake_stripe, shown["stripe_id"])
    processed = process(tenant, paid)
    resent = process(tenant, {**paid, "id": paid["id"] + "again"})

    assert processed.status == "processed", processed.outcome
    assert resent.status == "ignored"
    payment = Payment.objects.get(metadata__stripe_invoice=shown["stripe_id"])
    total = Decimal(str(shown["total_adjusted"]))
    assert (payment.status, payment.amount, payment.amount_refunded) == ("succeeded", total, total)
    assert payment.gateway_reference.startswith("pi_")
    assert refunded_in_stripe(fake_stripe, payment) == [(int(total), payment.gateway_reference)]
    assert "payment.refunded" in events_of(payment)


def test_what_the_invoice_still_owes_is_applied_and_only_the_rest_refunded(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    pay_by_hand(tenant, shown["id"], "1000")

    assert process(tenant, pay_in_stripe(fake_stripe, shown["stripe_id"])).status == "processed"

    payment = Payment.objects.get(metadata__stripe_invoice=shown["stripe_id"])
    total = Decimal(str(shown["total_adjusted"]))
    [allocation] = payment.allocations.all()
    assert (allocation.amount, allocation.amount_refunded) == (total - 1000, 0)
    assert (payment.amount, payment.amount_refunded) == (total, Decimal(1000))
    assert refunded_in_stripe(fake_stripe, payment) == [(1000, payment.gateway_reference)]
    invoice = tenant.client.get(f"/invoices/{shown['id']}/").json()
    assert invoice["status"] == "paid"
    assert Decimal(str(invoice["amount_due"])) == 0


def test_a_charge_given_up_on_and_then_taken_by_stripe_is_recorded_and_refunded(
    stripe_tenant, fake_stripe, django_capture_on_commit_callbacks
):
    from payments.tests.test_stripe_cards import save_card

    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4000002500003155")
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        created = stripe_tenant.client.post(
            "/payments/", {"invoice": invoice.id, "source": source.id}, format="json"
        )
    waiting = Payment.objects.get(pk=created.json()["id"])
    assert waiting.status == "processing"
    later = timezone.now() + datetime.timedelta(hours=2)
    assert services.payments_expire_due(now=later) == 1  # the payer never came back
    pay_by_hand(stripe_tenant, invoice.id)
    # ... but the payer does authenticate at Stripe, which takes the money.
    intent = fake_stripe.client().v1.payment_intents.retrieve(waiting.gateway_reference)
    answer = httpx.post(
        f"{fake_stripe.base_url}/v1/payment_intents/{intent.id}/_authenticate",
        data={"client_secret": intent.client_secret, "success": "true"},
        headers={"Authorization": f"Bearer {fake_stripe.secret_key}"},
    )
    assert answer.status_code == 200, answer.text
    succeeded = stripe_event(
        "payment_intent.succeeded",
        {"id": intent.id, "object": "payment_intent", "status": "succeeded",
         "metadata": {"payment": waiting.id}},
    )  # fmt: skip

    processed = process(stripe_tenant, succeeded)
    resent = process(stripe_tenant, {**succeeded, "id": succeeded["id"] + "again"})

    assert processed.status == "processed", processed.outcome
    assert resent.status == "ignored"
    waiting.refresh_from_db()
    assert waiting.status == "incomplete"
    payment = Payment.objects.get(gateway_reference=intent.id, status="succeeded")
    assert (payment.amount, payment.amount_refunded) == (invoice.total, invoice.total)
    assert refunded_in_stripe(fake_stripe, payment) == [(int(invoice.total), intent.id)]
