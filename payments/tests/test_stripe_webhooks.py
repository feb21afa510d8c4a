"""Inbound Stripe events (G9): signed by the `stripe` library's own helper, checked over
the raw body with a 300 s tolerance, stored once per Stripe event id, applied once, and
never moving a document backwards when they arrive out of order."""

import time
from decimal import Decimal

import pytest
from django.utils import timezone

from payments import services
from payments.models import Payment, StripeEvent
from payments.tests.conftest import create_customer
from tests.fake_stripe import LIVE_KEY, post_stripe_event, signed, stripe_event

pytestmark = pytest.mark.django_db


def process(event_id: str) -> StripeEvent:
    stored = StripeEvent.objects.get(stripe_id=event_id)
    return services.stripe_event_process(event_id=stored.id, now=timezone.now())


@pytest.fixture
def pending_payment(stripe_tenant, fake_stripe, django_capture_on_commit_callbacks):
    """A payment left processing by a card that needs the payer's authentication: its
    PaymentIntent waits in Stripe, and Stripe's events settle it."""
    from payments.tests.test_stripe_cards import save_card

    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4000002500003155")
    # Stripe is called once the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = stripe_tenant.client.post(
            "/payments/",
            {"customer": customer["id"], "amount": "5000", "currency": "CLP", "source": source.id},
            format="json",
        )
    assert response.status_code == 201, response.content
    payment = Payment.objects.get(pk=response.json()["id"])
    assert payment.status == "processing"
    assert payment.gateway_reference.startswith("pi_")
    return payment


def intent_event(type, payment, **fields):
    return stripe_event(type, {"id": payment.gateway_reference, "object": "payment_intent",
                               "status": "succeeded"}, **fields)  # fmt: skip


def test_a_signed_event_is_stored_and_answered_at_once(stripe_tenant, pending_payment):
    event = intent_event("payment_intent.succeeded", pending_payment)

    response = post_stripe_event(stripe_tenant.workspace.id, event)

    assert response.status_code == 200, response.content
    assert response.json() == {"id": event["id"], "type": event["type"], "status": "received"}
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert (stored.test_mode, stored.type) == (True, "payment_intent.succeeded")
    pending_payment.refresh_from_db()
    assert pending_payment.status == "processing"  # the task applies it, not the request


def test_processing_settles_the_payment_once(stripe_tenant, pending_payment):
    event = intent_event("payment_intent.succeeded", pending_payment)
    post_stripe_event(stripe_tenant.workspace.id, event)

    first = process(event["id"])
    second = process(event["id"])

    pending_payment.refresh_from_db()
    assert pending_payment.status == "succeeded"
    assert (first.status, second.status, second.attempts) == ("processed", "processed", 1)


def test_a_tampered_body_is_refused_and_nothing_is_stored(stripe_tenant, pending_payment):
    body, header = signed(intent_event("payment_intent.succeeded", pending_payment))
    tampered = body.replace(b"payment_intent.succeeded", b"payment_intent.payment_failed")
    from rest_framework.test import APIClient

    response = APIClient().post(
        f"/webhooks/stripe/{stripe_tenant.workspace.id}/",
        data=tampered,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "stripe_signature_invalid"
    assert not StripeEvent.objects.filter(type__startswith="payment_intent.").exists()


def test_a_stale_signature_is_refused(stripe_tenant, pending_payment):
    event = intent_event("payment_intent.succeeded", pending_payment)

    response = post_stripe_event(stripe_tenant.workspace.id, event, at=int(time.time()) - 301)

    assert response.status_code == 400
    assert response.json()["code"] == "stripe_signature_invalid"
    assert not StripeEvent.objects.filter(type__startswith="payment_intent.").exists()


def test_a_body_signed_with_another_secret_is_refused(stripe_tenant, pending_payment):
    event = intent_event("payment_intent.succeeded", pending_payment)

    response = post_stripe_event(stripe_tenant.workspace.id, event, secret="whsec_someone_else")

    assert response.status_code == 400
    assert not StripeEvent.objects.filter(type__startswith="payment_intent.").exists()


def test_a_missing_signature_and_an_unknown_workspace_are_refused(stripe_tenant):
    from rest_framework.test import APIClient

    unsigned = APIClient().post(
        f"/webhooks/stripe/{stripe_tenant.workspace.id}/", data=b"{}", content_type="text/plain"
    )
    unknown = post_stripe_event("acc_01JUNKNOWNWORKSPACE0000000", stripe_event("ping", {}))

    assert unsigned.status_code == 400
    assert unknown.status_code == 404


def test_the_same_event_twice_is_one_row_and_one_effect(stripe_tenant, pending_payment):
    event = intent_event("payment_intent.succeeded", pending_payment)

    first = post_stripe_event(stripe_tenant.workspace.id, event)
    process(event["id"])
    second = post_stripe_event(stripe_tenant.workspace.id, event)
    process(event["id"])

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["status"] == "processed"
    assert StripeEvent.objects.filter(stripe_id=event["id"]).count() == 1
    pending_payment.refresh_from_db()
    assert pending_payment.status == "succeeded"
    assert pending_payment.refunds.count() == 0


def test_a_late_failure_never_moves_a_succeeded_payment_back(stripe_tenant, pending_payment):
    now = int(time.time())
    failed = intent_event("payment_intent.payment_failed", pending_payment, created=now - 5)
    succeeded = intent_event("payment_intent.succeeded", pending_payment, created=now)

    post_stripe_event(stripe_tenant.workspace.id, succeeded)
    process(succeeded["id"])
    post_stripe_event(stripe_tenant.workspace.id, failed)
    late = process(failed["id"])

    pending_payment.refresh_from_db()
    assert pending_payment.status == "succeeded"
    assert late.status == "ignored"
    assert "already succeeded" in late.outcome


def test_a_failure_fails_a_processing_payment(stripe_tenant, pending_payment):
    event = stripe_event(
        "payment_intent.payment_failed",
        {"id": pending_payment.gateway_reference, "object": "payment_intent",
         "last_payment_error": {"code": "card_declined"}},
    )  # fmt: skip

    post_stripe_event(stripe_tenant.workspace.id, event)
    process(event["id"])

    pending_payment.refresh_from_db()
    assert (pending_payment.status, pending_payment.failed_reason) == ("failed", "card_declined")


def test_unknown_types_are_stored_and_ignored(stripe_tenant):
    event = stripe_event("balance.available", {"object": "balance"})

    response = post_stripe_event(stripe_tenant.workspace.id, event)
    stored = process(event["id"])

    assert response.status_code == 200
    assert (stored.status, stored.outcome) == ("ignored", "type not handled")


def test_events_of_the_other_mode_go_to_that_modes_connection(stripe_tenant, fake_stripe):
    """A live-mode connection with its own secret: its events are stored as live."""
    from tests.conftest import Tenant

    live = Tenant(workspace=stripe_tenant.workspace, token=stripe_tenant.token,
                  client=stripe_tenant.client.__class__())  # fmt: skip
    live.client.credentials(
        HTTP_AUTHORIZATION=f"Token {stripe_tenant.token}",
        HTTP_X_SIMPLE_WORKSPACE=stripe_tenant.workspace.id,
    )
    created = live.client.post(
        "/payment_gateways/",
        {"gateway": "stripe", "secret_key": LIVE_KEY, "webhook_secret": "whsec_live_one"},
        format="json",
    )
    assert created.status_code == 201, created.content
    event = stripe_event("balance.available", {"object": "balance"}, livemode=True)

    post_stripe_event(stripe_tenant.workspace.id, event, secret="whsec_live_one")

    assert StripeEvent.objects.get(stripe_id=event["id"]).test_mode is False


@pytest.fixture
def charged(stripe_tenant, fake_stripe):
    from invoices.tests.factories import FinalizedInvoiceFactory
    from payments.tests.test_stripe_cards import save_card

    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    return services.payment_charge_invoice(invoice=invoice, source=source, now=timezone.now())


def refunded_event(fake_stripe, payment):
    """Stripe's charge.refunded for the payment's charge, as Stripe has it now."""
    intent = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    charge = intent.latest_charge
    if isinstance(charge, str):  # Stripe sends the id; localstripe the object
        charge = fake_stripe.client().v1.charges.retrieve(charge)
    return stripe_event("charge.refunded", charge.to_dict())


def test_a_refund_made_in_stripe_is_recorded_once(stripe_tenant, fake_stripe, charged):
    fake_stripe.client().v1.refunds.create(
        params={"payment_intent": charged.gateway_reference, "amount": 300}
    )
    event = refunded_event(fake_stripe, charged)

    post_stripe_event(stripe_tenant.workspace.id, event)
    process(event["id"])
    again = stripe_event("charge.refunded", event["data"]["object"])  # Stripe resends it
    post_stripe_event(stripe_tenant.workspace.id, again)
    second = process(again["id"])

    charged.refresh_from_db()
    assert Decimal(str(charged.amount_refunded)) == Decimal("300")
    assert charged.refunds.get().gateway_reference.startswith("re_")
    assert second.status == "ignored"


def test_our_own_refund_reported_back_by_stripe_is_not_counted_twice(
    stripe_tenant, fake_stripe, charged
):
    services.payment_refund(payment=charged, amount=Decimal("200"), now=timezone.now())
    event = refunded_event(fake_stripe, charged)

    post_stripe_event(stripe_tenant.workspace.id, event)
    reported = process(event["id"])

    charged.refresh_from_db()
    assert Decimal(str(charged.amount_refunded)) == Decimal("200")
    assert charged.refunds.count() == 1
    assert reported.status == "ignored"


@pytest.mark.parametrize("livemode", [True, None, "false"])
def test_an_event_not_of_the_connections_mode_is_refused_and_not_stored(
    stripe_tenant, pending_payment, livemode
):
    intent = {"id": pending_payment.gateway_reference, "object": "payment_intent"}
    event = stripe_event("payment_intent.succeeded", intent, livemode=livemode)

    response = post_stripe_event(stripe_tenant.workspace.id, event)

    assert response.status_code == 400
    assert response.json()["code"] == "stripe_event_mode_mismatch"
    assert not StripeEvent.objects.filter(stripe_id=event["id"]).exists()


@pytest.mark.parametrize(
    "fields",
    [{"id": "evt_" + "x" * 300}, {"type": "t" * 200}, {"id": ""}],
)
def test_an_event_with_an_id_or_type_too_long_is_a_400(stripe_tenant, fields):
    event = stripe_event("balance.available", {"object": "balance"})
    event.update(fields)

    response = post_stripe_event(stripe_tenant.workspace.id, event)

    assert response.status_code == 400
    assert response.json()["code"] == "stripe_signature_invalid"
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("created", [1e30, 10**30, -(10**20), float("inf")])
def test_an_event_created_at_an_impossible_time_is_a_400(stripe_tenant, created):
    event = stripe_event("balance.available", {"object": "balance"}, created=created)

    response = post_stripe_event(stripe_tenant.workspace.id, event)

    assert response.status_code == 400
    assert response.json()["code"] == "stripe_signature_invalid"
    assert not StripeEvent.objects.exists()


def test_a_refund_reported_before_the_charge_succeeded_settles_it_and_is_recorded(
    stripe_tenant, fake_stripe, pending_payment
):
    from payments.tests.test_stripe_authentication import authenticate_at_stripe

    authenticate_at_stripe(fake_stripe, pending_payment.gateway_reference)
    fake_stripe.client().v1.refunds.create(
        params={"payment_intent": pending_payment.gateway_reference, "amount": 300}
    )
    refunded = refunded_event(fake_stripe, pending_payment)
    succeeded = intent_event("payment_intent.succeeded", pending_payment)

    # Stripe does not promise order: the refund's event comes first.
    for event in (refunded, succeeded):
        post_stripe_event(stripe_tenant.workspace.id, event)
    first, second = process(refunded["id"]), process(succeeded["id"])

    pending_payment.refresh_from_db()
    assert (first.status, second.status) == ("processed", "ignored"), first.outcome
    assert pending_payment.status == "succeeded"
    assert Decimal(str(pending_payment.amount_refunded)) == Decimal("300")
    assert pending_payment.refunds.get().gateway_reference.startswith("re_")
