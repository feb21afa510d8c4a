"""The invoice transitions payments make (invoices.services.invoices.invoice_settle, told
what is paid by payments.selectors.invoice_paid): every allowed pair, and forbidden ones
refused."""

import datetime
from decimal import Decimal

import pytest

from billing.errors import DomainError
from billing.models import Event
from invoices.selectors import invoice_amount_due
from invoices.services.invoices import (
    invoice_settle,
    invoice_settle_payments,
    invoice_toggle_uncollectible,
)
from invoices.tests.factories import FinalizedInvoiceFactory, InvoiceFactory
from payments import services
from payments.gateways import sandbox
from payments.selectors import invoice_paid

NOW = datetime.datetime(2026, 2, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def invoice(tenant):
    return FinalizedInvoiceFactory(workspace=tenant.workspace)


def _pay(invoice, amount=None, **fields):
    return services.payment_create(
        workspace=invoice.workspace,
        test_mode=False,
        allocations=[services.AllocationRequest(invoice, amount)],
        now=NOW,
        **fields,
    )


def _status(invoice):
    invoice.refresh_from_db()
    return invoice.status


def test_finalized_to_paid_when_nothing_is_due(invoice):
    _pay(invoice)

    assert _status(invoice) == "paid"
    assert invoice.paid_at == NOW
    assert invoice_amount_due(invoice) == 0
    assert Event.objects.filter(type="invoice.paid", object_id=invoice.id).count() == 1


def test_a_partial_payment_keeps_it_finalized(invoice):
    _pay(invoice, Decimal(1))

    assert _status(invoice) == "finalized"
    assert invoice_amount_due(invoice) == Decimal(1189)


def _card_needing_authentication(invoice):
    return services.source_create_sandbox_card(
        customer=invoice.customer,
        card_number=sandbox.REQUIRES_AUTHENTICATION,
        exp_month=1,
        exp_year=2030,
        now=NOW,
    )


def test_finalized_to_pending_to_paid_through_authentication(invoice):
    source = _card_needing_authentication(invoice)
    payment = _pay(invoice, source=source)
    assert (payment.status, _status(invoice)) == ("processing", "pending")
    source.refresh_from_db()
    assert source.status == "waiting_authorization"

    payment = services.payment_complete_authentication(payment=payment, approved=True, now=NOW)

    assert (payment.status, _status(invoice)) == ("succeeded", "paid")


def test_pending_back_to_finalized_when_authentication_fails(invoice):
    source = _card_needing_authentication(invoice)
    payment = _pay(invoice, source=source)

    payment = services.payment_complete_authentication(payment=payment, approved=False, now=NOW)

    assert (payment.status, payment.failed_reason) == ("failed", "authentication_failed")
    assert _status(invoice) == "finalized"


def test_uncollectible_to_paid(invoice):
    invoice_toggle_uncollectible(invoice=invoice, now=NOW)

    _pay(invoice)

    assert _status(invoice) == "paid"
    assert invoice.uncollectible_at is None


def test_paid_to_finalized_by_a_refund(invoice):
    payment = _pay(invoice)

    services.payment_refund(payment=payment, amount=Decimal(10), now=NOW)

    assert _status(invoice) == "finalized"
    assert invoice.paid_at is None
    assert invoice_amount_due(invoice) == Decimal(10)


def test_invoice_settle_moves_the_invoice_to_the_facts_it_is_given(invoice):
    settled = invoice_settle(invoice=invoice, paid=Decimal(1), processing=True, now=NOW)
    assert settled.status == "pending"

    settled = invoice_settle(invoice=invoice, paid=Decimal(1190), processing=False, now=NOW)
    assert settled.status == "paid"
    assert settled.paid_at == NOW


def test_invoice_paid_is_net_of_refunds_and_sees_processing_payments(invoice):
    payment = _pay(invoice, Decimal(100))
    services.payment_refund(payment=payment, amount=Decimal(30), now=NOW)
    source = _card_needing_authentication(invoice)
    _pay(invoice, Decimal(5), source=source)

    facts = invoice_paid(invoice)

    assert facts.paid == Decimal(70)
    assert facts.processing is True


def test_a_draft_is_never_settled(tenant):
    draft = InvoiceFactory(workspace=tenant.workspace)

    assert invoice_settle_payments(invoice=draft, now=NOW).status == "draft"


def test_a_paid_invoice_cannot_be_made_uncollectible(invoice):
    _pay(invoice)

    with pytest.raises(DomainError) as refused:
        invoice_toggle_uncollectible(invoice=invoice, now=NOW)

    assert refused.value.code == "invoice_invalid_transition"


def test_a_cancelled_invoice_takes_no_payment(invoice):
    invoice.status = "cancelled"
    invoice.save()

    with pytest.raises(DomainError) as refused:
        _pay(invoice)

    assert refused.value.code == "invoice_not_payable"
