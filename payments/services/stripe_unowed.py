"""Money Stripe took for something no longer owed as it was charged: a Checkout payment
of an intent whose invoice was paid meanwhile (by hand, or by another attempt), an
intent closed meanwhile, a Checkout that charged another amount or currency than its
intent's, a charge we had given up on, a Stripe invoice paid in Stripe after ours was
paid another way.

That money is never dropped. It is recorded as a succeeded Stripe payment (its
`gateway_reference` the PaymentIntent): what its invoice still owes, if anything, is
applied to it as any payment is; the rest (`metadata.stripe_unowed`) is refunded at
Stripe once the event's transaction has committed, and recorded as the payment's
refund (events payment.succeeded, then payment.refunded). A refund Stripe could not make
stays due and is tried again after the workspace's next Stripe event is processed.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.errors import DomainError
from billing.models import Workspace
from billing.money import round_amount
from customers.models import Customer
from invoices.choices import PAYABLE_STATUSES
from invoices.models import Invoice
from payments.choices import GatewayKind, PaymentStatus
from payments.gateways.base import ChargeOutcome, ChargeResult
from payments.gateways.stripe_gateway import StripeUnavailable
from payments.invoice_reads import invoice_amount_payable
from payments.models import Payment
from payments.services._common import lock_invoices
from payments.services.payments import apply_gateway_result, create_payment, payment_refund

UNOWED_KEY = "stripe_unowed"
REFUND_REASON = "Paid in Stripe for what was no longer owed: refunded automatically"


def stripe_payment_record_unowed(
    *,
    workspace_id: str,
    test_mode: bool,
    customer: Customer | None,
    currency: str,
    amount: Decimal,
    reference: str,
    invoice: Invoice | None,
    description: str,
    now: datetime,
    metadata: dict[str, Any] | None = None,
) -> Payment:
    """Record what Stripe took (`amount`, under `reference`), inside the caller's
    transaction: the part `invoice` still owes is applied to it, the rest is left to
    refund (`stripe_unowed_refund_due`)."""
    shares: list[tuple[Invoice, Decimal]] = []
    if invoice is not None:
        invoice = lock_invoices([invoice])[0]
        if invoice.status in PAYABLE_STATUSES and invoice.currency_id == currency:
            owed = round_amount(invoice_amount_payable(invoice), currency)
            share = min(amount, owed)
            if share > 0:
                shares.append((invoice, share))
    unowed = amount - sum((share for _, share in shares), Decimal(0))
    recorded = dict(metadata or {})
    if unowed > 0:
        recorded[UNOWED_KEY] = str(unowed)
    payment = create_payment(
        workspace=Workspace.objects.get(pk=workspace_id),
        test_mode=test_mode,
        customer=customer,
        currency=currency,
        amount=amount,
        shares=shares,
        source=None,
        now=now,
        gateway=GatewayKind.STRIPE,
        description=description[:256],
        metadata=recorded,
    )
    return apply_gateway_result(payment, ChargeResult(ChargeOutcome.SUCCEEDED, reference), now)


def stripe_unowed_refund_due(*, workspace_id: str, test_mode: bool, now: datetime) -> list[str]:
    """Refund at Stripe what recorded payments took beyond what was owed, with no
    transaction open; what happened to each, for the event's outcome. A repeated call
    refunds once (the refund's idempotency key is made of the payment's refunds)."""
    due = Payment.objects.filter(
        workspace_id=workspace_id,
        test_mode=test_mode,
        gateway=GatewayKind.STRIPE,
        status=PaymentStatus.SUCCEEDED,
        metadata__has_key=UNOWED_KEY,
        amount_refunded=0,
    ).order_by("id")
    notes = []
    for payment in due:
        amount = Decimal(str(payment.metadata[UNOWED_KEY]))
        try:
            payment_refund(payment=payment, amount=amount, reason=REFUND_REASON, now=now)
        except (StripeUnavailable, DomainError) as error:
            message = getattr(error, "message", None) or getattr(error, "detail", None)
            notes.append(f"refund of {amount} on {payment.id} not made yet: {message or error}")
        else:
            notes.append(f"{amount} not owed refunded on {payment.id}")
    return notes
