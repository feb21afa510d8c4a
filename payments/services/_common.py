"""Checks and row locks the payment sub-domains share.

Invoices are always locked before the payment or intent that applies to them, and in id
order, so that racing writers queue the same way and never deadlock.
"""

from collections.abc import Sequence
from datetime import datetime

from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from customers.models import Customer
from invoices.choices import PAYABLE_STATUSES, InvoiceStatus
from invoices.models import Invoice
from payments.choices import GatewayKind, PaymentStatus, SourceStatus
from payments.models import Intent, Payment, PaymentGateway, Source


def check_invoice_payable(invoice: Invoice, detail: str) -> None:
    if invoice.status not in PAYABLE_STATUSES:
        raise DomainError("invoice_not_payable", detail)


def refuse_if_invoice_closed(invoice: Invoice | None, what: str) -> None:
    """What was open to pay an invoice that was cancelled, or paid by other means (another
    payment, a credit note), was cancelled with it (invoice_checkouts_close): paying it
    says so, rather than that the intent or payment is cancelled, or that the invoice owes
    0 and a new one should be made. Ask it only of what took no money: the payment that
    paid the invoice is refused for its own state."""
    if invoice is not None and invoice.status in (InvoiceStatus.CANCELLED, InvoiceStatus.PAID):
        raise DomainError(
            "invoice_not_payable",
            f"Invoice {invoice.id} is {invoice.status} and takes no payments, so {what} cannot "
            "be paid; nothing was charged.",
        )


def took_money(payment: Payment | None) -> bool:
    """Whether the payment holds or paid its invoices' amount (processing or succeeded)."""
    return payment is not None and payment.status in (
        PaymentStatus.PROCESSING,
        PaymentStatus.SUCCEEDED,
    )


def check_expires_after(now: datetime, expires_at: datetime | None, noun: str) -> None:
    """A link or intent created already expired would look payable until the expiry sweep
    reached it."""
    if expires_at is not None and expires_at <= now:
        raise InvalidInput({"expires_at": [f"The {noun} would already be expired."]})


def check_gateway_enabled(workspace: Workspace, test_mode: bool, kind: str) -> None:
    connection = PaymentGateway.objects.filter(
        workspace=workspace, test_mode=test_mode, gateway=kind
    ).first()
    if kind == GatewayKind.SANDBOX and connection is None:
        return  # the sandbox is built in
    if connection is None or not connection.enabled:
        raise DomainError(
            "gateway_not_enabled", f"The {kind} gateway is not enabled in this workspace."
        )


def check_chargeable(source: Source, customer: Customer | None) -> None:
    if source.status != SourceStatus.CHARGEABLE:
        raise DomainError(
            "source_not_chargeable", f"Source {source.id} is {source.status}, not chargeable."
        )
    if customer is not None and source.customer_id not in (None, customer.pk):
        raise InvalidInput({"source": ["This source belongs to another customer."]})


def lock_invoices(invoices: Sequence[Invoice]) -> list[Invoice]:
    """Lock the invoices' rows in id order: racing payments always queue the same way."""
    ids = sorted({invoice.pk for invoice in invoices})
    return list(Invoice.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))


def lock_payment_invoices(payment: Payment) -> list[Invoice]:
    return lock_invoices(list(Invoice.objects.filter(payment_allocations__payment=payment)))


def lock_payment(payment: Payment) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)


def lock_intent(intent: Intent) -> Intent:
    return Intent.objects.select_for_update(of=("self",)).get(pk=intent.pk)
