"""Amounts in Stripe's units: each currency's own decimals (billing.money), Stripe's
rule for three-decimal currencies, currencies Stripe does not take, and a Checkout that
charged another amount than the intent's (recorded, what is owed applied, the rest
refunded)."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.errors import DomainError
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways.stripe_gateway import from_minor_units, to_charge_units, to_minor_units
from payments.models import Intent, Payment, StripeEvent
from payments.tests.conftest import create_customer
from tests.fake_stripe import checkout_session_id, post_stripe_event


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("10.55", "KWD", 10550),
        ("10.555", "KWD", 10555),
        ("1.2", "BHD", 1200),
        ("1190", "CLP", 1190),
        ("1190", "JPY", 1190),
        ("10.55", "USD", 1055),
        ("1000", "ISK", 100000),
    ],
)
def test_amounts_go_to_stripe_in_the_currencys_own_units(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor
    assert from_minor_units(minor, currency) == Decimal(amount)


def test_stripe_charges_three_decimal_currencies_in_whole_hundredths():
    assert to_charge_units(Decimal("10.550"), "KWD") == 10550
    with pytest.raises(DomainError) as refused:
        to_charge_units(Decimal("10.555"), "KWD")
    assert (refused.value.code, refused.value.status_code) == ("stripe_amount_unsupported", 400)
    assert "0.010" in refused.value.detail


@pytest.mark.parametrize("currency", ["CLF", "UYW", "IQD"])
def test_currencies_stripe_does_not_take_are_refused(currency):
    with pytest.raises(DomainError) as refused:
        to_minor_units(Decimal("1"), currency)
    assert (refused.value.code, refused.value.status_code) == ("stripe_currency_unsupported", 400)


def _link(tenant, amount: str, currency: str) -> dict:
    response = tenant.client.post(
        "/payment_links/links/", {"amount": amount, "currency": currency}, format="json"
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def _process(tenant, event) -> StripeEvent:
    assert post_stripe_event(tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    return services.stripe_event_process(event_id=stored.id, now=timezone.now())


def test_a_kwd_link_is_charged_in_thousandths_and_settled(stripe_tenant, fake_stripe):
    link = _link(stripe_tenant, "10.550", "KWD")

    redirected = Client().get(link["url"])
    session_id = checkout_session_id(redirected["Location"])
    session = fake_stripe.client().v1.checkout.sessions.retrieve(session_id)
    processed = _process(stripe_tenant, fake_stripe.complete_checkout(session_id))

    assert (session.amount_total, session.currency) == (10550, "kwd")
    assert processed.status == "processed", processed.outcome
    intent = Intent.objects.get(payment_link_id=link["id"])
    assert intent.payment is not None and intent.payment.amount == Decimal("10.55")


@pytest.mark.parametrize(("amount", "currency"), [("10.555", "KWD"), ("1.2345", "CLF")])
def test_an_amount_stripe_cannot_charge_is_refused_before_calling_stripe(
    stripe_tenant, fake_stripe, amount, currency
):
    link = _link(stripe_tenant, amount, currency)

    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(link["url"])

    assert page.status_code == 409
    assert b"The payment service refused this payment" in page.content
    assert not Intent.objects.filter(payment_link_id=link["id"]).exists()


def _checkout_for_another_amount(fake, intent: Intent, amount: int, currency: str) -> str:
    """A Checkout session at Stripe for the intent that charges another amount than the
    intent's (as a session changed at Stripe would): its id."""
    session = fake.client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {"price_data": {"currency": currency, "unit_amount": amount,
                                "product_data": {"name": intent.id}}, "quantity": 1}
            ],
            "payment_intent_data": {"metadata": {"intent": intent.id}},
            "metadata": {"intent": intent.id},
            "success_url": "https://shop.example.com/paid",
        }
    )  # fmt: skip
    return str(session.id)


def _invoice_link(tenant) -> tuple[Invoice, dict]:
    customer = create_customer(tenant)
    invoice = FinalizedInvoiceFactory(
        workspace=tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    link = tenant.client.post("/payment_links/links/", {"invoice": invoice.id}, format="json")
    assert link.status_code == 201, link.content
    return invoice, dict(link.json())


def test_a_checkout_that_charged_more_applies_what_is_owed_and_refunds_the_rest(
    stripe_tenant, fake_stripe
):
    invoice, link = _invoice_link(stripe_tenant)
    assert Client().get(link["url"]).status_code == 302
    intent = Intent.objects.get(payment_link_id=link["id"])
    charged = int(invoice.total) + 5000
    session_id = _checkout_for_another_amount(fake_stripe, intent, charged, "clp")

    event = fake_stripe.complete_checkout(session_id)
    processed = _process(stripe_tenant, event)

    assert processed.status == "processed", processed.outcome
    assert "5000" in processed.outcome
    payment_intent = event["data"]["object"]["payment_intent"]
    payment = Payment.objects.get(gateway_reference=payment_intent)
    assert (payment.status, payment.gateway, payment.amount) == (
        "succeeded", "stripe", Decimal(charged)
    )  # fmt: skip
    assert payment.metadata["stripe_unowed"] == "5000"
    assert payment.amount_refunded == 5000
    [refund] = payment.refunds.all()
    assert fake_stripe.client().v1.refunds.retrieve(refund.gateway_reference).amount == 5000
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    intent.refresh_from_db()
    assert intent.status == "cancelled"
    # The payer's money shows on the payments list, with what was refunded.
    shown = stripe_tenant.client.get(f"/payments/{payment.id}/").json()
    assert shown["status"] == "succeeded"
    assert f"Stripe charged {charged} CLP" in shown["description"]
    assert Decimal(str(shown["amount_refunded"])) == 5000
    assert shown["metadata"]["stripe_unowed"] == "5000"


def test_a_checkout_charged_in_another_currency_is_recorded_and_refunded(
    stripe_tenant, fake_stripe
):
    invoice, link = _invoice_link(stripe_tenant)
    assert Client().get(link["url"]).status_code == 302
    intent = Intent.objects.get(payment_link_id=link["id"])
    session_id = _checkout_for_another_amount(fake_stripe, intent, 1250, "usd")

    processed = _process(stripe_tenant, fake_stripe.complete_checkout(session_id))

    assert processed.status == "processed", processed.outcome
    payment = Payment.objects.get(gateway="stripe", status="succeeded")
    assert (payment.amount, payment.currency_id) == (Decimal("12.50"), "USD")
    assert not payment.allocations.exists()
    assert payment.amount_refunded == Decimal("12.50")
    invoice.refresh_from_db()
    assert invoice.status == "finalized"  # still owed: the link takes a new payment
    assert stripe_tenant.client.get(f"/payment_links/links/{link['id']}/").json()["status"] == (
        "open"
    )
