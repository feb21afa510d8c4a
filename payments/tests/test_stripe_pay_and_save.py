"""Paying on Stripe Checkout from an intent's own page, saving the card while paying
(`save_card_and_make_default`, with Stripe and with the sandbox), and no Stripe call
made while a database transaction is open."""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from customers.models import Customer
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways.registry import gateway_for
from payments.gateways.stripe_gateway import StripeGateway
from payments.models import Intent, Payment, Source, StripeEvent
from payments.services.payments import _charge_invoice
from payments.tests.conftest import connect_stripe, create_customer
from payments.tests.hosted_forms import hidden_fields
from payments.tests.test_stripe_cards import save_card
from tests.conftest import Tenant, make_tenant
from tests.fake_stripe import (
    OTHER_KEY,
    FakeStripe,
    checkout_session_id,
    post_stripe_event,
    stripe_event,
)

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def _process(tenant: Tenant, event: dict[str, Any]) -> StripeEvent:
    assert post_stripe_event(tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    return services.stripe_event_process(event_id=stored.id, now=timezone.now())


def _invoice_for(tenant: Tenant, customer_id: str) -> Invoice:
    return FinalizedInvoiceFactory(  # type: ignore[no-any-return]
        workspace=tenant.workspace, test_mode=True, customer_id=customer_id
    )


@contextmanager
def stripe_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call our Stripe gateway makes while inside, named with whether a database
    transaction was open at that moment."""
    seen: list[str] = []
    original = StripeGateway.call

    def call(self: StripeGateway, method: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(method, "__qualname__", repr(method))
        seen.append(f"{name} in a transaction" if connection.in_atomic_block else name)
        return original(self, method, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(StripeGateway, "call", call)
        yield seen


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_stripe_call_is_made_inside_a_database_transaction(fake_stripe, monkeypatch):
    tenant = make_tenant(test_mode=True)
    connect_stripe(tenant, fake_stripe)
    customer = create_customer(tenant)
    save_card(tenant, fake_stripe, customer["id"], "4242424242424242")
    source = Source.objects.get(customer_id=customer["id"], default=True)
    charged = _invoice_for(tenant, customer["id"])
    linked = _invoice_for(tenant, customer["id"])
    link = tenant.client.post(
        "/payment_links/links/",
        {"invoice": linked.id, "save_card_and_make_default": True},
        format="json",
    ).json()

    paid_by_api = _invoice_for(tenant, customer["id"])
    other = make_tenant(test_mode=True)

    with stripe_calls(monkeypatch) as seen:
        # A connection made, then given another key: each key is checked with Stripe.
        connected = connect_stripe(other, fake_stripe)
        rekeyed = other.client.patch(
            f"/payment_gateways/{connected['id']}/", {"secret_key": OTHER_KEY}, format="json"
        )
        # A card saved through Stripe Checkout: the session is made for the API's answer.
        setup = tenant.client.post(
            f"/customers/{customer['id']}/setup_intent/",
            {"success_url": "https://shop.example.com/ok"},
            format="json",
        )
        # An off-session charge (what a subscription's collection makes) and a refund.
        payment = services.payment_charge_invoice(invoice=charged, source=source, now=NOW)
        services.payment_refund(payment=payment, amount=Decimal("100"), now=NOW)
        # A refund through the API: Stripe refunds, then the request records it.
        refunded = tenant.client.post(
            f"/payments/{payment.pk}/refund/", {"amount": "150"}, format="json"
        )
        # A charge through the API: made once the request's transaction has committed.
        answered = tenant.client.post(
            "/payments/", {"invoice": paid_by_api.id, "source": source.id}, format="json"
        )
        # A link paid on Stripe Checkout, saving its card: the page, then the event.
        redirected = Client().get(link["url"])
        event = fake_stripe.complete_checkout(checkout_session_id(redirected["Location"]))
        processed = _process(tenant, event)

    assert (connected["status"], rekeyed.status_code) == ("connected", 200)
    assert (setup.status_code, setup.json()["gateway"]) == (200, "stripe")
    assert (refunded.status_code, refunded.json()["amount_refunded"]) == (200, 250)
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert (answered.status_code, answered.json()["status"]) == (201, "processing")
    assert Payment.objects.get(pk=answered.json()["id"]).status == "succeeded"
    assert tenant.client.get(f"/invoices/{paid_by_api.id}/").json()["status"] == "paid"
    assert processed.status == "processed", processed.outcome
    assert len(seen) >= 12, seen  # keys, sessions, charges, refunds, card read, default
    assert [call for call in seen if call.endswith("in a transaction")] == []


def test_a_refund_resent_with_its_idempotency_key_is_made_once_in_stripe(
    stripe_tenant, fake_stripe, monkeypatch
):
    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    invoice = _invoice_for(stripe_tenant, customer["id"])
    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    with stripe_calls(monkeypatch) as seen:
        answers = [
            stripe_tenant.client.post(
                f"/payments/{payment.pk}/refund/",
                {"amount": "100"},
                format="json",
                headers={"Idempotency-Key": "refund-once"},
            )
            for _ in range(2)
        ]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[1]["Idempotent-Replayed"] == "true"
    assert [call.split(" ")[0] for call in seen] == ["RefundService.create"]
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("100")


def test_a_reserved_charge_whose_answer_was_lost_is_settled_by_stripes_event(
    stripe_tenant, fake_stripe
):
    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    invoice = _invoice_for(stripe_tenant, customer["id"])
    # The payment is reserved and committed, Stripe charges, and the worker dies before
    # it records Stripe's answer.
    reserved = _charge_invoice(invoice=invoice, source=source, now=NOW)
    gateway = gateway_for("stripe", workspace_id=reserved.workspace_id, test_mode=True)
    charged = gateway.charge(
        token=source.gateway_token, amount=reserved.amount, currency="CLP", off_session=True,
        reference=reserved.id,
    )  # fmt: skip
    invoice.refresh_from_db()
    assert (reserved.status, reserved.gateway_reference) == ("processing", "")
    assert invoice.status != "paid"

    intent = fake_stripe.client().v1.payment_intents.retrieve(charged.reference)
    processed = _process(stripe_tenant, stripe_event("payment_intent.succeeded", intent.to_dict()))

    assert processed.status == "processed", processed.outcome
    reserved.refresh_from_db()
    invoice.refresh_from_db()
    assert (reserved.status, reserved.gateway_reference) == ("succeeded", charged.reference)
    assert invoice.status == "paid"


def test_charging_an_invoice_again_completes_its_reserved_charge_once(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    invoice = _invoice_for(stripe_tenant, customer["id"])
    reserved = _charge_invoice(invoice=invoice, source=source, now=NOW)

    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    assert payment.pk == reserved.pk
    assert payment.status == "succeeded"
    assert Payment.objects.filter(allocations__invoice=invoice).count() == 1
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    assert in_stripe.metadata["payment"] == payment.id


def _assert_default_card(fake: FakeStripe, customer_id: str, last4: str) -> Source:
    source = Source.objects.get(customer_id=customer_id, default=True)
    assert (source.gateway, source.usage, source.status) == ("stripe", "reusable", "chargeable")
    assert (source.card_brand, source.card_last4, source.card_exp_month) == ("visa", last4, 12)
    assert source.card_exp_year == 2034
    stripe_customer = fake.client().v1.customers.retrieve(
        Customer.objects.get(pk=customer_id).stripe_id
    )
    assert stripe_customer.invoice_settings.default_payment_method == source.gateway_token
    return source


def test_a_link_saves_the_card_it_is_paid_with_on_stripe_checkout(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    invoice = _invoice_for(stripe_tenant, customer["id"])
    link = stripe_tenant.client.post(
        "/payment_links/links/",
        {"invoice": invoice.id, "save_card_and_make_default": True},
        format="json",
    ).json()
    assert link["save_card_and_make_default"] is True

    redirected = Client().get(link["url"])
    session_id = checkout_session_id(redirected["Location"])
    event = fake_stripe.complete_checkout(session_id, "4000056655665556")
    processed = _process(stripe_tenant, event)

    assert processed.status == "processed", processed.outcome
    session = event["data"]["object"]
    assert session["customer"] == Customer.objects.get(pk=customer["id"]).stripe_id
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(session["payment_intent"])
    assert in_stripe.setup_future_usage == "off_session"
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    source = _assert_default_card(fake_stripe, customer["id"], "5556")
    # The saved card is charged later like any source, off-session.
    later = _invoice_for(stripe_tenant, customer["id"])
    payment = services.payment_charge_invoice(invoice=later, source=source, now=NOW)
    assert payment.status == "succeeded"


def test_a_link_without_the_flag_saves_no_card(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    invoice = _invoice_for(stripe_tenant, customer["id"])
    link = stripe_tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id}, format="json"
    ).json()

    redirected = Client().get(link["url"])
    event = fake_stripe.complete_checkout(checkout_session_id(redirected["Location"]))
    processed = _process(stripe_tenant, event)

    assert processed.status == "processed", processed.outcome
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(
        event["data"]["object"]["payment_intent"]
    )
    assert in_stripe.setup_future_usage is None
    assert not Source.objects.filter(customer_id=customer["id"]).exists()


def test_an_intents_page_pays_on_stripe_checkout_and_the_event_completes_it(
    stripe_tenant, fake_stripe
):
    customer = create_customer(stripe_tenant)
    invoice = _invoice_for(stripe_tenant, customer["id"])
    intent = stripe_tenant.client.post(
        "/intents/", {"invoice": invoice.id, "save_card_and_make_default": True}, format="json"
    ).json()
    page = Client(HTTP_ACCEPT_LANGUAGE="en")

    redirected = page.get(intent["redirect_url"])
    assert redirected.status_code == 302
    session_id = checkout_session_id(redirected["Location"])
    session = fake_stripe.client().v1.checkout.sessions.retrieve(session_id)
    assert (session.mode, session.amount_total) == ("payment", int(invoice.total))
    assert session.metadata["intent"] == intent["id"]
    assert page.get(intent["redirect_url"])["Location"] == redirected["Location"]  # one session
    back = page.get(session.success_url)  # the payer returns before Stripe's event
    assert back.status_code == 200 and b"confirming your payment" in back.content
    assert Intent.objects.get(pk=intent["id"]).status == "requires_payment_method"

    completed = fake_stripe.complete_checkout(session_id)
    # Stripe's payment_intent.succeeded may arrive first; either records the payment.
    paid = fake_stripe.client().v1.payment_intents.retrieve(
        completed["data"]["object"]["payment_intent"]
    )
    first = _process(stripe_tenant, stripe_event("payment_intent.succeeded", paid.to_dict()))
    second = _process(stripe_tenant, completed)

    assert first.status == "processed", first.outcome
    assert second.status == "ignored", second.outcome
    settled = Intent.objects.get(pk=intent["id"])
    invoice.refresh_from_db()
    assert (settled.status, invoice.status) == ("finalized", "paid")
    assert settled.payment is not None and settled.payment.gateway_reference == paid.id
    assert Payment.objects.filter(allocations__invoice=invoice).count() == 1
    _assert_default_card(fake_stripe, customer["id"], "4242")
    assert b"Payment successful" in page.get(session.success_url).content


def test_an_intents_page_without_stripe_still_takes_sandbox_cards(tenant):
    customer = create_customer(tenant)
    invoice = FinalizedInvoiceFactory(
        workspace=tenant.workspace, test_mode=tenant.test_mode, customer_id=customer["id"]
    )
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}, format="json").json()

    shown = Client().get(intent["redirect_url"])

    assert shown.status_code == 200
    assert b'name="card_number"' in shown.content


@pytest.mark.parametrize("save", [True, False])
def test_the_sandbox_page_saves_the_card_while_paying_when_asked(tenant, save):
    customer = create_customer(tenant)
    invoice = FinalizedInvoiceFactory(
        workspace=tenant.workspace, test_mode=tenant.test_mode, customer_id=customer["id"]
    )
    link = tenant.client.post(
        "/payment_links/links/",
        {"invoice": invoice.id, "save_card_and_make_default": save},
        format="json",
    ).json()

    shown = Client(HTTP_ACCEPT_LANGUAGE="en").get(link["url"])
    assert (b"Your card will be saved for" in shown.content) is save
    paid = Client().post(
        link["url"],
        {"card_number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123"}
        | hidden_fields(shown),
    )

    assert paid.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    source = Source.objects.get(customer_id=customer["id"])
    assert (source.card_last4, source.card_exp_month, source.card_exp_year) == ("4242", 12, 2030)
    if save:
        assert (source.usage, source.status, source.default) == ("reusable", "chargeable", True)
        shown = tenant.client.get(f"/sources/{source.id}/").content.decode()
        assert "4242424242424242" not in shown
    else:
        assert (source.usage, source.status, source.default) == ("single", "consumed", False)


def test_a_link_saving_the_card_needs_a_customer(tenant):
    response = tenant.client.post(
        "/payment_links/links/",
        {"amount": 1000, "currency": "CLP", "save_card_and_make_default": True},
        format="json",
    )

    assert response.status_code == 400
    assert "save_card_and_make_default" in response.json()


def test_a_payment_being_charged_cannot_be_cancelled(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    invoice = _invoice_for(stripe_tenant, customer["id"])
    reserved = _charge_invoice(invoice=invoice, source=source, now=NOW)

    response = stripe_tenant.client.post(f"/payments/{reserved.id}/cancel/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "payment_invalid_transition"
    reserved.refresh_from_db()
    assert reserved.status == "processing"


def test_a_single_use_links_page_opened_three_times_makes_one_intent_and_one_session(
    stripe_tenant, fake_stripe
):
    customer = create_customer(stripe_tenant)
    invoice = _invoice_for(stripe_tenant, customer["id"])
    link = stripe_tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id}, format="json"
    ).json()

    pages = [Client().get(link["url"]) for _ in range(3)]

    assert [page.status_code for page in pages] == [302, 302, 302]
    assert len({page["Location"] for page in pages}) == 1
    assert Intent.objects.filter(payment_link_id=link["id"]).count() == 1


def test_a_single_use_link_makes_a_new_intent_once_the_last_one_expired(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    invoice = _invoice_for(stripe_tenant, customer["id"])
    link = stripe_tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id}, format="json"
    ).json()
    first = Client().get(link["url"])["Location"]
    Intent.objects.filter(payment_link_id=link["id"]).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    second = Client().get(link["url"])["Location"]

    assert second != first
    statuses = Intent.objects.filter(payment_link_id=link["id"]).values_list("status", flat=True)
    assert sorted(statuses) == ["expired", "requires_payment_method"]


def test_a_reusable_link_makes_an_intent_per_payer(stripe_tenant, fake_stripe):
    link = stripe_tenant.client.post(
        "/payment_links/links/",
        {"amount": "5000", "currency": "CLP", "reusable": True},
        format="json",
    ).json()

    pages = [Client().get(link["url"])["Location"] for _ in range(2)]

    assert pages[0] != pages[1]
    assert Intent.objects.filter(payment_link_id=link["id"]).count() == 2
