"""Payment reads: querysets with what their representations read, in a fixed number of
queries."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Prefetch, Q, QuerySet, Sum

from customers.models import Customer
from invoices.choices import InvoiceStatus
from invoices.models import Invoice
from payments.choices import PaymentLinkState, PaymentStatus, SourceStatus
from payments.models import Intent, Payment, PaymentAllocation, PaymentLink, Refund, Source


def customer_default_source(customer: Customer) -> Source | None:
    """The card the customer made their default (saved through a setup or while paying),
    while it can still be charged."""
    return Source.objects.filter(
        customer=customer, default=True, status=SourceStatus.CHARGEABLE
    ).first()


def payment_links_in_state(
    links: QuerySet[PaymentLink], state: str, now: datetime
) -> QuerySet[PaymentLink]:
    """The links whose status is `state` at `now`, as payment_link_state tells it."""
    # In payment_link_state's order: paid, then cancelled, then expired, else open.
    paid = Q(paid_at__isnull=False) | Q(invoice__status=InvoiceStatus.PAID)
    cancelled = Q(invoice__status=InvoiceStatus.CANCELLED)
    expired = Q(expires_at__isnull=False, expires_at__lte=now)
    if state == PaymentLinkState.PAID:
        return links.filter(paid)
    if state == PaymentLinkState.CANCELLED:
        return links.filter(cancelled).exclude(paid)
    if state == PaymentLinkState.EXPIRED:
        return links.filter(expired).exclude(paid).exclude(cancelled)
    return links.exclude(paid).exclude(cancelled).exclude(expired)


def payment_queryset() -> QuerySet[Payment]:
    return Payment.objects.select_related("currency").prefetch_related(
        Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("invoice")),
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")),
    )


def payment_for_payer(*, payment_id: str, client_secret: str) -> Payment | None:
    """The payment a browser may drive: named by its id and the client secret of the
    payment or of its intent. Neither alone is enough."""
    if not client_secret:
        return None
    return (
        Payment.objects.select_related("workspace", "currency", "source", "customer")
        .filter(pk=payment_id)
        .filter(Q(client_secret=client_secret) | Q(intent__client_secret=client_secret))
        .first()
    )


def payer_key_owner(*, key: str) -> PaymentLink | Intent | Payment | None:
    """What a publishable key opens: a payment link (its `publishable_key`), an intent
    or a payment (their `client_secret`)."""
    if not key:
        return None
    related = ("workspace", "customer")
    return (
        PaymentLink.objects.select_related(*related, "invoice").filter(publishable_key=key).first()
        or Intent.objects.select_related(*related).filter(client_secret=key).first()
        or Payment.objects.select_related(*related).filter(client_secret=key).first()
    )


@dataclass(frozen=True)
class InvoicePaid:
    """What the payments applied to an invoice amount to, as invoice_settle takes it."""

    paid: Decimal  # what succeeded payments applied, net of their refunds
    processing: bool  # whether a payment applied to it is still processing


def invoice_paid(invoice: Invoice) -> InvoicePaid:
    """Read in one query; the caller holds the invoice's row lock."""
    totals = PaymentAllocation.objects.filter(invoice=invoice).aggregate(
        paid=Sum(
            F("amount") - F("amount_refunded"),
            filter=Q(payment__status=PaymentStatus.SUCCEEDED),
            default=Decimal(0),
            output_field=DecimalField(),
        ),
        processing=Count("pk", filter=Q(payment__status=PaymentStatus.PROCESSING)),
    )
    return InvoicePaid(paid=Decimal(totals["paid"]), processing=totals["processing"] > 0)
