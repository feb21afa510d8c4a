"""Amounts in Stripe's units: each currency's own decimals (billing.money), Stripe's
rule for three-decimal currencies, currencies Stripe does not take, and a Checkout that
charged another amount than the intent's."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.errors import DomainError
from payments import services
from payments.gateways.stripe_gateway import from_minor_units, to_charge_units, to_minor_units
from payments.models import Intent, StripeEvent
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


def test_a_checkout_that_charged_another_amount_settles_nothing(stripe_tenant, fake_stripe):
    link = _link(stripe_tenant, "10.550", "KWD")
    redirected = Client().get(link["url"])
    event = fake_stripe.complete_checkout(checkout_session_id(redirected["Location"]))
    event["data"]["object"]["amount_total"] = 1055  # 1.055 KWD, a tenth of the intent

    processed = _process(stripe_tenant, event)

    assert processed.status == "failed"
    assert "stripe_amount_mismatch" in processed.outcome or "not settled" in processed.outcome
    intent = Intent.objects.get(payment_link_id=link["id"])
    assert (intent.status, intent.payment_id) == ("requires_payment_method", None)
