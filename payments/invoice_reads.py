"""What invoices and customers read of payments, registered with them once the apps are
ready (payments/apps.py): both sit on lower floors and never import payments."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db.models import Expression, F, OuterRef

from invoices.models import Invoice, Order
from invoices.payments_reads import InvoicePaymentReads
from invoices.selectors import invoice_amount_owed_expression, json_rows, sum_rows
from payments.choices import HOLDING_STATUSES, INTENT_OPEN_STATUSES, PaymentStatus, SourceStatus
from payments.models import Intent, PaymentAllocation, Source


def _paid_of_invoice(statuses: Sequence[str]) -> Expression:
    """Σ what payments in `statuses` apply to the invoice row, net of their refunds."""
    rows = PaymentAllocation.objects.filter(
        invoice=OuterRef("pk"), payment__status__in=statuses
    ).annotate(net=F("amount") - F("amount_refunded"))
    return sum_rows(rows, "invoice", "net")


def _settled() -> Expression:
    return _paid_of_invoice([PaymentStatus.SUCCEEDED])


def _settled_of_customer(invoice_statuses: Sequence[str]) -> Expression:
    paid = PaymentAllocation.objects.filter(
        invoice__customer=OuterRef("pk"),
        invoice__currency=OuterRef("currency"),
        invoice__status__in=invoice_statuses,
        payment__status=PaymentStatus.SUCCEEDED,
    ).annotate(customer=F("invoice__customer"), net=F("amount") - F("amount_refunded"))
    return sum_rows(paid, "customer", "net")


def _listed() -> Expression:
    """The payments applied to each invoice row (InvoiceSerializer.payments)."""
    return json_rows(
        PaymentAllocation.objects.filter(invoice=OuterRef("pk")),
        "invoice",
        position=F("id"),
        payment=F("payment_id"),
        status=F("payment__status"),
        amount=F("amount"),
        amount_refunded=F("amount_refunded"),
        payment_date=F("payment__payment_date"),
    )


def _processing(invoice: Invoice) -> bool:
    return PaymentAllocation.objects.filter(
        invoice=invoice, payment__status=PaymentStatus.PROCESSING
    ).exists()


def _holding(invoice: Invoice) -> bool:
    allocations = PaymentAllocation.objects.filter(invoice=invoice)
    return (
        allocations.filter(payment__status=PaymentStatus.PROCESSING).exists()
        or allocations.filter(
            payment__status=PaymentStatus.SUCCEEDED, amount__gt=F("amount_refunded")
        ).exists()
    )


def _order_has_open_intent(order: Order) -> bool:
    return Intent.objects.filter(order=order, status__in=INTENT_OPEN_STATUSES).exists()


INVOICE_PAYMENT_READS = InvoicePaymentReads(
    settled=_settled,
    settled_of_customer=_settled_of_customer,
    listed=_listed,
    processing=_processing,
    holding=_holding,
    order_has_open_intent=_order_has_open_intent,
)


def invoice_amount_payable(invoice: Invoice) -> Decimal:
    """What a new payment may still take: the amount due less what payments still
    processing already hold. Read after locking the invoice row, it cannot over-apply."""
    row = Invoice.objects.filter(pk=invoice.pk).annotate(
        payable=invoice_amount_owed_expression(_paid_of_invoice(HOLDING_STATUSES))
    )
    return Decimal(row.values_list("payable", flat=True).get())


def customer_sources_annotations(*, now: datetime, timezone: str) -> dict[str, Expression]:
    """The customer row's payment sources (CustomerSerializer.sources), read in the
    customer's own query; they do not depend on the time. Only the cards it can be
    charged with: a deleted, used-up or failed source is no longer the customer's."""
    return {
        "payment_sources": json_rows(
            Source.objects.filter(customer=OuterRef("pk"), status=SourceStatus.CHARGEABLE),
            "customer",
            created=F("created_at"),
            id=F("id"),
            gateway=F("gateway"),
            usage=F("usage"),
            status=F("status"),
            brand=F("card_brand"),
            last4=F("card_last4"),
            exp_month=F("card_exp_month"),
            exp_year=F("card_exp_year"),
        )
    }
