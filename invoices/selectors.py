"""Invoice reads: querysets with what their representations read, in a fixed number of
queries, and the amounts derived from several documents (amount due, customer sales)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    DecimalField,
    Expression,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from customers.models import Customer
from invoices.choices import InvoiceStatus, NoteStatus
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DebitNote,
    DebitNoteLine,
    Invoice,
    InvoiceLine,
    Order,
    OrderItem,
)

ZERO = Decimal(0)
_MONEY = DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)

# Invoices whose totals are sales, and those that still carry an amount due. Pending is a
# finalized invoice whose payments are settling, so it is both.
SALE_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PENDING, InvoiceStatus.PAID)
DUE_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PENDING, InvoiceStatus.UNCOLLECTIBLE)


def _sum(rows: QuerySet[Any], group_by: str, field: str) -> Expression:
    """Σ `field` over `rows` (already correlated with OuterRef), 0 when there are none."""
    summed = rows.order_by().values(group_by).annotate(summed=Sum(field)).values("summed")
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def _finalized_notes_of_invoice(model: type[CreditNote] | type[DebitNote]) -> Expression:
    rows = model.objects.filter(invoice=OuterRef("pk"), status=NoteStatus.FINALIZED)
    return _sum(rows, "invoice", "total_adjusted")


def invoice_amount_due_expression() -> Expression:
    """total_adjusted − finalized credit notes + finalized debit notes, per invoice row.

    Succeeded payments subtract here too once payments exist (rules.md §2).
    """
    return (
        F("total_adjusted")
        - _finalized_notes_of_invoice(CreditNote)
        + _finalized_notes_of_invoice(DebitNote)
    )


def invoice_queryset() -> QuerySet[Invoice]:
    return (
        Invoice.objects.select_related("document")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id"))
        )
        .annotate(amount_due=invoice_amount_due_expression())
    )


def invoice_creditable_amount(invoice: Invoice) -> Decimal:
    """What credit notes may still take off the invoice: its total_adjusted less the
    finalized credit notes, plus the finalized debit notes. Payments do not lower it (a
    paid invoice can still be credited; the customer is refunded)."""
    row = Invoice.objects.filter(pk=invoice.pk).annotate(
        credits=_finalized_notes_of_invoice(CreditNote),
        debits=_finalized_notes_of_invoice(DebitNote),
    )
    values = row.values("total_adjusted", "credits", "debits").get()
    return Decimal(values["total_adjusted"] - values["credits"] + values["debits"])


def invoice_amount_due(invoice: Invoice) -> Decimal:
    """What the customer still owes on the invoice.

    Read from the `amount_due` annotation of invoice_queryset when the invoice came from
    it, so lists do not query per invoice. Until payments exist it equals the creditable
    amount; this is the seam where succeeded payments will be subtracted.
    """
    annotated = invoice.__dict__.get("amount_due")
    if annotated is not None:
        return Decimal(annotated)
    return invoice_creditable_amount(invoice)


def _note_queryset(
    model: type[CreditNote] | type[DebitNote], line_model: type[Any]
) -> QuerySet[Any]:
    return model.objects.select_related(
        "document", "invoice", "invoice__document"
    ).prefetch_related(Prefetch("lines", queryset=line_model.objects.order_by("position", "id")))


def credit_note_queryset() -> QuerySet[CreditNote]:
    return _note_queryset(CreditNote, CreditNoteLine)


def debit_note_queryset() -> QuerySet[DebitNote]:
    return _note_queryset(DebitNote, DebitNoteLine)


def order_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("currency").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("position", "id"))
    )


# Customer aggregations


@dataclass(frozen=True)
class CustomerAggregations:
    sales: Decimal
    sales_current_period: Decimal
    balance: Decimal


_AGGREGATION_NAMES = {
    "aggregation_sales": "sales",
    "aggregation_sales_current_period": "sales_current_period",
    "aggregation_balance": "balance",
}


def month_bounds(*, now: datetime, timezone: str) -> tuple[date, date]:
    """[first day of the month, first day of the next) in the workspace's calendar."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    first = today.replace(day=1)
    following = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )
    return first, following


def _customer_sum(rows: QuerySet[Any], field: str) -> Expression:
    # Never add currencies: only documents in the customer's (current) currency count.
    correlated = rows.filter(customer=OuterRef("pk"), currency=OuterRef("currency"))
    return _sum(correlated, "customer", field)


def _sales(**date_range: date) -> Expression:
    """Σ totals of invoices sold, less their finalized credit notes, plus their debit
    notes. Notes count only with their invoice, so a cancelled invoice and the credit
    note that annulled it both drop out."""
    invoices = Invoice.objects.filter(status__in=SALE_STATUSES, **date_range)
    notes = {"status": NoteStatus.FINALIZED, "invoice__status__in": SALE_STATUSES, **date_range}
    return (
        _customer_sum(invoices, "total")
        - _customer_sum(CreditNote.objects.filter(**notes), "total")
        + _customer_sum(DebitNote.objects.filter(**notes), "total")
    )


def _balance() -> Expression:
    notes = {"status": NoteStatus.FINALIZED, "invoice__status__in": DUE_STATUSES}
    return (
        _customer_sum(Invoice.objects.filter(status__in=DUE_STATUSES), "total_adjusted")
        - _customer_sum(CreditNote.objects.filter(**notes), "total_adjusted")
        + _customer_sum(DebitNote.objects.filter(**notes), "total_adjusted")
    )


def customer_aggregation_annotations(*, now: datetime, timezone: str) -> dict[str, Expression]:
    """Annotations for a Customer queryset: sales, sales of the current calendar month in
    `timezone` (by document date) and balance (Σ amount due of open invoices), so a page
    of customers costs no query per customer."""
    first, following = month_bounds(now=now, timezone=timezone)
    return {
        "aggregation_sales": _sales(),
        "aggregation_sales_current_period": _sales(date__gte=first, date__lt=following),
        "aggregation_balance": _balance(),
    }


def customer_aggregations(
    *, customer: Customer, now: datetime, timezone: str
) -> CustomerAggregations:
    """The customer's aggregations: from the annotations when the customer was read with
    them, otherwise with one query."""
    values: dict[str, Any] = {name: customer.__dict__.get(name) for name in _AGGREGATION_NAMES}
    if any(value is None for value in values.values()):
        values = (
            Customer.objects.filter(pk=customer.pk)
            .annotate(**customer_aggregation_annotations(now=now, timezone=timezone))
            .values(*_AGGREGATION_NAMES)
            .get()
        )
    return CustomerAggregations(
        **{attribute: Decimal(values[name]) for name, attribute in _AGGREGATION_NAMES.items()}
    )
