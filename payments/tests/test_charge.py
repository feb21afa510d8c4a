"""The charge contract recurring billing depends on: sandbox sources and
payment_charge_invoice."""

import datetime
from decimal import Decimal

import pytest

from billing.errors import DomainError, InvalidInput
from billing.models import Event
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways import sandbox
from payments.models import Payment

NOW = datetime.datetime(2026, 2, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def invoice(tenant):
    return FinalizedInvoiceFactory(workspace=tenant.workspace)


def _source(invoice, number, usage="reusable"):
    return services.source_create_sandbox_card(
        customer=invoice.customer,
        card_number=number,
        exp_month=12,
        exp_year=2030,
        usage=usage,
        now=NOW,
    )


def test_a_sandbox_source_stores_only_the_token_and_display_fields(invoice):
    source = _source(invoice, "4242 4242 4242 4242")

    assert source.status == "chargeable"
    assert (source.card_brand, source.card_last4) == ("visa", "4242")
    assert (source.card_exp_month, source.card_exp_year) == (12, 2030)
    assert source.gateway_token.startswith("tok_")
    assert "4242424242424242" not in source.gateway_token


@pytest.mark.parametrize(
    ("number", "field"),
    [
        ("4242 4242 4242 4241", "card.number"),  # fails the Luhn check
        ("5555555555554444", "card.number"),  # a valid number, not a sandbox test card
        ("abc", "card.number"),
    ],
)
def test_cards_the_sandbox_does_not_know_are_refused(invoice, number, field):
    with pytest.raises(InvalidInput) as refused:
        _source(invoice, number)

    assert field in refused.value.errors


def test_an_expired_card_is_refused(invoice):
    with pytest.raises(InvalidInput) as refused:
        services.source_create_sandbox_card(
            customer=invoice.customer,
            card_number=sandbox.SUCCEEDS,
            exp_month=1,
            exp_year=2026,
            now=NOW,
        )

    assert "card.exp_year" in refused.value.errors


def test_a_successful_charge_pays_the_invoice(invoice):
    source = _source(invoice, sandbox.SUCCEEDS)

    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    invoice.refresh_from_db()
    assert payment.status == "succeeded"
    assert payment.amount == Decimal(1190)
    assert payment.payment_date == NOW
    assert list(payment.allocations.values_list("invoice_id", "amount")) == [
        (invoice.id, Decimal(1190))
    ]
    assert invoice.status == "paid"
    assert invoice.paid_at == NOW
    types = set(Event.objects.values_list("type", flat=True))
    assert {"payment.created", "payment.succeeded", "invoice.paid"} <= types


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (sandbox.DECLINED, "card_declined"),
        (sandbox.INSUFFICIENT_FUNDS, "insufficient_funds"),
        (sandbox.REQUIRES_AUTHENTICATION, "authentication_required"),
    ],
)
def test_a_declined_charge_records_a_failed_payment(invoice, number, reason):
    source = _source(invoice, number)

    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    invoice.refresh_from_db()
    assert payment.status == "failed"
    assert payment.failed_reason == reason
    assert invoice.status == "finalized"
    assert Event.objects.filter(type="payment.failed", object_id=payment.id).exists()
    # A failed payment holds nothing: the invoice can be charged again.
    retry = services.payment_charge_invoice(
        invoice=invoice, source=_source(invoice, sandbox.SUCCEEDS), now=NOW
    )
    assert retry.status == "succeeded"


def test_charging_a_paid_invoice_is_refused(invoice):
    source = _source(invoice, sandbox.SUCCEEDS)
    services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    with pytest.raises(DomainError) as refused:
        services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    assert refused.value.code == "invoice_not_payable"
    assert Payment.objects.count() == 1


def test_a_consumed_single_use_source_is_not_chargeable(tenant, invoice):
    source = _source(invoice, sandbox.SUCCEEDS, usage="single")
    services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)
    source.refresh_from_db()
    other = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)

    with pytest.raises(DomainError) as refused:
        services.payment_charge_invoice(invoice=other, source=source, now=NOW)

    assert source.status == "consumed"
    assert refused.value.code == "source_not_chargeable"


def test_another_customers_source_is_refused(tenant, invoice):
    stranger = CustomerFactory(workspace=tenant.workspace)
    source = services.source_create_sandbox_card(
        customer=stranger, card_number=sandbox.SUCCEEDS, exp_month=12, exp_year=2030, now=NOW
    )

    with pytest.raises(InvalidInput):
        services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)
