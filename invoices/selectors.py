"""Invoice reads: querysets with what their representations read, in a fixed number of
queries, and the amounts derived from several documents (amount due, customer sales)."""

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Aggregate,
    DecimalField,
    Expression,
    F,
    JSONField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce, JSONObject

from billing.clock import local_date
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from catalog.models import Coupon, Plan
from customers.models import CustomerBalanceTransaction
from invoices.choices import PAYABLE_STATUSES, InvoiceStatus, NoteStatus
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DebitNote,
    DebitNoteLine,
    Invoice,
    InvoiceLine,
    Order,
    OrderItem,
    OrderStatus,
)
from invoices.payments_reads import invoice_payment_reads

ZERO = Decimal(0)
_MONEY = DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)

# Invoices whose totals are sales. Pending is a finalized invoice whose payments are
# settling, so it is a sale and still payable (PAYABLE_STATUSES).
SALE_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PENDING, InvoiceStatus.PAID)


def sum_rows(rows: QuerySet[Any], group_by: str, field: str) -> Expression:
    """Σ `field` over `rows` (already correlated with OuterRef), 0 when there are none."""
    summed = rows.order_by().values(group_by).annotate(summed=Sum(field)).values("summed")
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


class _JSONGroupArray(Aggregate):
    """The grouped values as one JSON array: SQLite's json_group_array, PostgreSQL's
    jsonb_agg."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra)


def json_rows(rows: QuerySet[Any], group_by: str, **fields: Any) -> Expression:
    """`rows` (correlated with OuterRef) as a JSON array of objects whose values are text
    (exact decimals, ISO datetimes), [] when there are none: a nested list read in the
    parent's own query instead of one more query per page."""
    item = JSONObject(**{name: Cast(value, TextField()) for name, value in fields.items()})
    grouped = rows.order_by().values(group_by).annotate(items=_JSONGroupArray(item))
    return Coalesce(
        Subquery(grouped.values("items"), output_field=JSONField()),
        Value([], output_field=JSONField()),
        output_field=JSONField(),
    )


def invoice_payments(invoice: Invoice) -> list[dict[str, Any]]:
    """The invoice's payments, oldest first: from the annotation of invoice_queryset when
    present, otherwise with one query."""
    rows = invoice.__dict__.get("payments_json")
    if rows is None:
        rows = (
            Invoice.objects.filter(pk=invoice.pk)
            .annotate(payments_json=invoice_payment_reads().listed())
            .values_list("payments_json", flat=True)
            .get()
        )
    return sorted(rows, key=lambda row: int(row["position"]))


def _finalized_notes_of_invoice(model: type[CreditNote] | type[DebitNote]) -> Expression:
    rows = model.objects.filter(invoice=OuterRef("pk"), status=NoteStatus.FINALIZED)
    return sum_rows(rows, "invoice", "total_adjusted")


def _balance_of_invoice() -> Expression:
    """Σ the customer balance entries of the invoice: credit it handed to the customer
    (what credit notes took off beyond what was still due) less what was paid back."""
    rows = CustomerBalanceTransaction.objects.filter(invoice_id=OuterRef("pk"))
    return sum_rows(rows, "invoice_id", "amount")


def invoice_amount_owed_expression(payments: Expression) -> Expression:
    """What the invoice row owes once `payments` (an expression over the row) are taken
    off: total_adjusted − finalized credit notes + finalized debit notes − payments + the
    invoice's customer balance entries."""
    return (
        F("total_adjusted")
        - _finalized_notes_of_invoice(CreditNote)
        + _finalized_notes_of_invoice(DebitNote)
        - payments
        + _balance_of_invoice()
    )


def invoice_amount_due_expression() -> Expression:
    """total_adjusted − finalized credit notes + finalized debit notes − succeeded payments
    (net of refunds) + the invoice's customer balance entries, per invoice row (rules.md
    §2). The balance entries record what was credited beyond what was due, so the amount
    due is never negative."""
    return invoice_amount_owed_expression(invoice_payment_reads().settled())


def invoice_has_processing_payments(invoice: Invoice) -> bool:
    return invoice_payment_reads().processing(invoice)


def invoice_has_payments(invoice: Invoice) -> bool:
    """Whether the invoice holds money of a payment: one processing, or one succeeded and
    not wholly refunded on this invoice."""
    return invoice_payment_reads().holding(invoice)


def invoice_balance_credit(invoice: Invoice) -> Decimal:
    """The credit the invoice's balance entries still hold for the customer."""
    summed = CustomerBalanceTransaction.objects.filter(invoice_id=invoice.pk).aggregate(
        total=Sum("amount")
    )["total"]
    return Decimal(summed or 0)


def order_has_open_intent(order: Order) -> bool:
    return invoice_payment_reads().order_has_open_intent(order)


def invoice_queryset() -> QuerySet[Invoice]:
    return (
        Invoice.objects.select_related("document")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id"))
        )
        .annotate(**invoice_reads_annotations())
    )


@functools.cache
def invoice_reads_annotations() -> dict[str, Expression]:
    """What an invoice's representation reads besides its row and lines, for one query.

    Built once: the expressions depend on no invoice (they correlate with the row), and
    building them costs a finalize more than running them. Only read after the apps are
    ready, when payments has registered its reads."""
    return {
        "amount_due": invoice_amount_due_expression(),
        "payments_json": invoice_payment_reads().listed(),
    }


def invoice_lines_loaded(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Keep `lines` (in position order) as the invoice's lines, as a prefetch would."""
    loaded = invoice.lines.all()
    loaded._result_cache = lines
    loaded._prefetch_done = True  # type: ignore[attr-defined]
    invoice._prefetched_objects_cache = {"lines": loaded}  # type: ignore[attr-defined]


def invoice_reads_load(invoice: Invoice) -> None:
    """Read what the invoice's representation reads (amount due, payments, lines) onto it."""
    reads = invoice_reads_annotations()
    row = Invoice.objects.filter(pk=invoice.pk).annotate(**reads)
    invoice.__dict__.update(row.values(*reads).get())
    invoice_lines_loaded(invoice, list(invoice.lines.order_by("position", "id")))


def invoice_reads_of_new(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """The reads of an invoice created in this transaction, with no query: nothing refers
    to it yet (no notes, payments or balance entries), so all of its total is due."""
    invoice.__dict__.update(amount_due=invoice.total_adjusted, payments_json=[])
    invoice_lines_loaded(invoice, lines)


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
    it, so lists do not query per invoice; otherwise with one query.
    """
    annotated = invoice.__dict__.get("amount_due")
    if annotated is not None:
        return Decimal(annotated)
    row = Invoice.objects.filter(pk=invoice.pk).annotate(due=invoice_amount_due_expression())
    return Decimal(row.values_list("due", flat=True).get())


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


def month_bounds(*, now: datetime, timezone: str) -> tuple[date, date]:
    """[first day of the month, first day of the next) in the workspace's calendar."""
    today = local_date(now, timezone)
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
    return sum_rows(correlated, "customer", field)


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


def _credit_balance() -> Expression:
    """Σ the customer's balance entries: the credit it holds with us."""
    return _customer_sum(CustomerBalanceTransaction.objects.all(), "amount")


def _balance() -> Expression:
    """Σ amount due of the open invoices, less the customer's credit."""
    due_invoices = Invoice.objects.filter(status__in=PAYABLE_STATUSES)
    notes = {"status": NoteStatus.FINALIZED, "invoice__status__in": PAYABLE_STATUSES}
    entries_of_due_invoices = CustomerBalanceTransaction.objects.filter(
        invoice_id__in=due_invoices.values("id")
    )
    return (
        _customer_sum(due_invoices, "total_adjusted")
        - _customer_sum(CreditNote.objects.filter(**notes), "total_adjusted")
        + _customer_sum(DebitNote.objects.filter(**notes), "total_adjusted")
        - invoice_payment_reads().settled_of_customer(PAYABLE_STATUSES)
        + _customer_sum(entries_of_due_invoices, "amount")
        - _credit_balance()
    )


# A customer no document refers to yet has sold nothing and owes nothing.
NEW_CUSTOMER_AGGREGATIONS = {
    "aggregation_sales": ZERO,
    "aggregation_sales_current_period": ZERO,
    "aggregation_balance": ZERO,
    "aggregation_credit_balance": ZERO,
}


def customer_aggregation_annotations(*, now: datetime, timezone: str) -> dict[str, Expression]:
    """Annotations for a Customer queryset: sales, sales of the current calendar month in
    `timezone` (by document date), balance (Σ amount due of open invoices less the
    customer's credit) and credit balance, so a page of customers costs no query per
    customer. Registered with customers (invoices/apps.py), which reads them."""
    first, following = month_bounds(now=now, timezone=timezone)
    return {
        "aggregation_sales": _sales(),
        "aggregation_sales_current_period": _sales(date__gte=first, date__lt=following),
        "aggregation_balance": _balance(),
        "aggregation_credit_balance": _credit_balance(),
    }


def order_naming(obj: Any) -> str | None:
    """An order still to be invoiced that names this plan or coupon ("order ord_…"), or
    None: orders hold them by id, which the database's protection does not see."""
    open_orders = Order.objects.filter(status__in=(OrderStatus.DRAFT, OrderStatus.CONFIRMED))
    if isinstance(obj, Plan):
        open_orders = open_orders.filter(items__plan_id=obj.pk)
    elif isinstance(obj, Coupon):
        open_orders = open_orders.filter(coupon_id=obj.pk)
    else:
        return None
    found = open_orders.values_list("pk", flat=True).first()
    return None if found is None else f"order {found}"
