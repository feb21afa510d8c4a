"""Invoice writes: one service per verb, each atomic, each recording its event."""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack, cast

from django.db import transaction
from django.db.models import Prefetch, QuerySet, Value

from billing.compiled_reads import compiled_object_read
from billing.db import service_atomic
from billing.documents import (
    COMPUTED_LINE_FIELDS,
    LineRow,
    ReferenceRow,
    apply_totals,
    base_tax_percent,
    build_lines,
    check_document_currency,
    check_kept_lines_type,
    store_lines,
)
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Workspace
from billing.services.events import event_record
from billing.services.numbering import number_take_saving
from customers.choices import CustomerStatus
from customers.models import Customer
from invoices.choices import INVOICE_TRANSITIONS, PAYABLE_STATUSES, InvoiceStatus
from invoices.models import Invoice, InvoiceLine, Order
from invoices.payments_closing import invoice_payments_close
from invoices.pdf.storage import document_pdf_schedule
from invoices.representations import invoice_snapshot, invoice_snapshot_of_save
from invoices.selectors import (
    invoice_amount_due,
    invoice_amount_owed_expression,
    invoice_has_processing_payments,
    invoice_reads_load,
    invoice_reads_of_new,
)
from organization.models import OrgUnit


def _record(invoice: Invoice, event_type: str, data: dict[str, Any] | None = None) -> None:
    event_record(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        type=event_type,
        object_id=invoice.id,
        data=invoice_snapshot(invoice) if data is None else data,
    )


def check_invoice_document_type(
    workspace: Workspace, document_type: DocumentType, *, customer: Customer, currency: str
) -> None:
    """Invoices, orders and subscriptions issue only the workspace country's electronic
    sale types that are not notes or orders, in a currency the type allows, and export
    types only to a foreign buyer."""
    if not document_type.is_invoice_type or not document_type.is_electronic:
        raise InvalidInput({"document": [f"{document_type} is not an invoice document type."]})
    if document_type.country_id != workspace.country_id:
        raise InvalidInput(
            {
                "document": [
                    f"{document_type} belongs to {document_type.country_id}, "
                    f"the workspace to {workspace.country_id}."
                ]
            }
        )
    check_document_currency(
        document_type,
        currency,
        instead="A sale in another currency uses the export types (110, 111, 112).",
    )
    if document_type.is_export and customer.country_id == workspace.country_id:
        raise DomainError(
            "export_to_national_buyer",
            f"{document_type} is for buyers abroad; customer {customer.pk} is in "
            f"{customer.country_id}. Issue a national type (33, 34, 39, 41) instead.",
            status_code=400,
        )


def _check_customer(customer: Customer) -> None:
    if customer.status == CustomerStatus.ARCHIVED:
        raise InvalidInput({"customer": ["This customer is archived."]})


def _lock_draft(invoice: Invoice) -> Invoice:
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("document")
        .get(pk=invoice.pk)
    )
    if invoice.status != InvoiceStatus.DRAFT:
        raise DomainError(
            "invoice_not_draft",
            f"Invoice {invoice.id} is {invoice.status}; only drafts can change. "
            "Correct a finalized invoice with a credit or debit note.",
        )
    return invoice


def _save_with_lines(invoice: Invoice, rows: Sequence[LineRow] | None) -> None:
    if rows is None:
        lines = list(invoice.lines.all())
    else:
        stored = list(invoice.lines.all())
        lines = build_lines(InvoiceLine, {"invoice": invoice}, rows, replacing=stored)
    apply_totals(invoice, lines)
    invoice.save()
    store_lines(InvoiceLine, lines, replace=None if rows is None else invoice.lines)


class InvoiceFields(TypedDict, total=False):
    """What an invoice's create or update may set besides its customer, type, date and
    lines (InvoiceSerializer's other writable fields, and the subscription that bills it)."""

    due_date: date | None
    collection_method: str
    orgunit: OrgUnit | None
    period_start: date | None
    period_end: date | None
    note: str
    references: list[ReferenceRow]
    discount: Decimal
    discount_scheme: str
    custom_change: Decimal
    subscription_id: str | None
    metadata: dict[str, Any]


class InvoiceChanges(InvoiceFields, total=False):
    """What a draft invoice's update may set."""

    customer: Customer
    document: DocumentType
    date: date


@service_atomic
def invoice_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer,
    document: DocumentType,
    date: date,
    lines: Sequence[LineRow] = (),
    **fields: Unpack[InvoiceFields],
) -> Invoice:
    check_invoice_document_type(
        workspace, document, customer=customer, currency=customer.currency_id
    )
    _check_customer(customer)
    invoice = Invoice(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        document=document,
        date=date,
        currency_id=customer.currency_id,
        tax_percent=base_tax_percent(document),
        **fields,
    )
    # A new invoice has no stored lines to compare with or replace.
    built = build_lines(InvoiceLine, {"invoice": invoice}, lines)
    apply_totals(invoice, built)
    invoice.save()
    InvoiceLine.objects.bulk_create(built)
    # Read once here, for its event and its response.
    invoice_reads_of_new(invoice, built)
    _record(invoice, "invoice.created")
    return invoice


@transaction.atomic
def invoice_update(
    *, invoice: Invoice, lines: Sequence[LineRow] | None = None, **fields: Unpack[InvoiceChanges]
) -> Invoice:
    invoice = _lock_draft(invoice)
    if "document" in fields:
        invoice.tax_percent = base_tax_percent(fields["document"])
    if "customer" in fields:
        _check_customer(fields["customer"])
        invoice.currency_id = fields["customer"].currency_id
    if "document" in fields or "customer" in fields:
        document = fields.get("document", invoice.document)
        check_invoice_document_type(
            invoice.workspace,
            document,
            customer=fields.get("customer", invoice.customer),
            currency=invoice.currency_id,
        )
    if "document" in fields and lines is None:
        check_kept_lines_type(invoice.document, fields["document"])
    for name, value in fields.items():
        setattr(invoice, name, value)
    _save_with_lines(invoice, lines)
    # A draft's lines and totals change here: subscribers see them as they now are.
    _record(invoice, "invoice.updated")
    return invoice


@transaction.atomic
def invoice_delete(*, invoice: Invoice) -> None:
    invoice = _lock_draft(invoice)
    # An invoiced order keeps the draft it turned into: without it the order would be
    # invoiced and have no invoice.
    order_id = Order.objects.filter(invoice=invoice).values_list("id", flat=True).first()
    if order_id is not None:
        raise DomainError(
            "invoice_from_order",
            f"Invoice {invoice.id} was created from order {order_id}; it is kept with the "
            "order. Edit or finalize it instead.",
        )
    # A subscription's draft (a cycle's kept for review, a plan change's) bills its
    # period, which no cycle bills again: it is finalized, and corrected by credit note.
    if invoice.subscription_id:
        period = (
            f" for {invoice.period_start} – {invoice.period_end}" if invoice.period_start else ""
        )
        raise DomainError(
            "invoice_from_subscription",
            f"Invoice {invoice.id} bills subscription {invoice.subscription_id}{period}; it is "
            "kept with the subscription. Edit or finalize it instead (a credit note corrects "
            "it once finalized).",
        )
    invoice.delete()


def _transition(invoice: Invoice, target: InvoiceStatus) -> str:
    """Move the invoice to `target`; the event type the change records."""
    event_type = INVOICE_TRANSITIONS.get((InvoiceStatus(invoice.status), target))
    if event_type is None:
        raise DomainError(
            "invoice_invalid_transition",
            f"Invoice {invoice.id} is {invoice.status} and cannot become {target}.",
        )
    invoice.status = target
    return event_type


@service_atomic
def invoice_finalize(*, invoice: Invoice, now: datetime) -> Invoice:
    """Freeze the totals and take the next number, in one transaction.

    The number comes from a locked counter in this same transaction, so a rollback gives
    it back and numbers stay gapless. It is taken last, by the statement that also saves
    the invoice and records its event, so the counter stays locked only from that
    statement to the commit. A pending invoice was finalized already and
    only waits on its payments: it is settled by them instead.

    The invoice is returned with what its representation reads loaded, as its event
    showed it.
    """
    invoice = _locked_with_lines(invoice.pk)
    if invoice.status == InvoiceStatus.PENDING:
        return _finalize_pending(invoice, now)
    if invoice.status != InvoiceStatus.DRAFT:
        # uncollectible → finalized is a transition too, but it is `uncollectible`'s to make.
        raise DomainError(
            "invoice_invalid_transition",
            f"Invoice {invoice.id} is {invoice.status}; only drafts and pending invoices finalize.",
        )
    # A draft written before a rule existed meets it here, before it takes a number.
    check_invoice_document_type(
        invoice.workspace, invoice.document, customer=invoice.customer, currency=invoice.currency_id
    )
    _transition(invoice, InvoiceStatus.FINALIZED)
    lines = list(invoice.lines.all())
    if not lines:
        raise DomainError("invoice_without_lines", "An invoice needs at least one line.")
    stored = [_computed(line) for line in lines]
    apply_totals(invoice, lines)
    # Only lines whose totals moved (a rule changed since the draft was saved) are written.
    changed = [line for line, old in zip(lines, stored, strict=True) if _computed(line) != old]
    if changed:
        store_lines(InvoiceLine, changed)
    # A draft holds no payment, note or balance entry (each needs a finalized invoice, and
    # nothing goes back to draft): all of its total is due, as for a new invoice.
    invoice_reads_of_new(invoice, lines)
    invoice.mark_finalized(now, imported=invoice.imported)
    # Built before the number is taken, so the counter is not locked while it is built;
    # the number and the save's time are set in it after.
    data = invoice_snapshot(invoice)
    recorded = False
    if invoice.number is None:
        recorded = number_take_saving(
            document=invoice,
            document_type=invoice.document,
            event_type="invoice.finalized",
            event_data=lambda: data | invoice_snapshot_of_save(invoice),
            now=now,
        )
    else:
        invoice.save()
    if not recorded:
        _record(invoice, "invoice.finalized", data | invoice_snapshot_of_save(invoice))
    document_pdf_schedule(invoice)
    return invoice_paid_if_nothing_due(invoice, now)


def invoice_paid_if_nothing_due(invoice: Invoice, now: datetime) -> Invoice:
    """A document just finalized with nothing to pay (a free period, a 100% discount) is
    paid at once (rules.md §2: paid when the amount due reaches 0), as Stripe marks a zero
    invoice: nobody is asked to pay it, and collection skips it."""
    if invoice.total_adjusted > 0:
        return invoice
    return _settle_to(invoice, InvoiceStatus.PAID, now)


def _locked_for_finalize() -> tuple[QuerySet[Invoice], dict[str, str]]:
    lines = Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id"))
    locked = Invoice.objects.select_for_update(of=("self",))
    return locked.select_related("document", "workspace", "customer").prefetch_related(lines), {}


def _locked_with_lines(pk: str) -> Invoice:
    """The invoice, its row locked, with its lines in position order: one round trip of
    SQL compiled by this thread's first finalize (billing.compiled_reads), since compiling
    the joined read costs more than running it."""
    read = compiled_object_read(("invoice_finalize",), _locked_for_finalize, pk)
    if read is None:
        queryset, _slots = _locked_for_finalize()
        return queryset.get(pk=pk)
    invoice = read.get({"pk": pk})
    if invoice is None:
        raise Invoice.DoesNotExist(f"No invoice {pk}.")
    return cast(Invoice, invoice)


def _computed(line: InvoiceLine) -> tuple[Any, ...]:
    return tuple(getattr(line, name) for name in COMPUTED_LINE_FIELDS)


def _finalize_pending(invoice: Invoice, now: datetime) -> Invoice:
    """Finalize of a pending invoice (rules.md §3): it keeps its number, `finalized_at` and
    filing, and needs every payment it waits on to have succeeded. The payments lock the
    invoice before they change, so none moves while its row is held here."""
    if invoice_has_processing_payments(invoice):
        raise DomainError(
            "invoice_payments_processing",
            f"Invoice {invoice.id} has a payment still processing; it can be finalized once "
            "every payment has succeeded.",
        )
    invoice = invoice_settle_payments(invoice=invoice, now=now)
    invoice_reads_load(invoice)
    return invoice


@transaction.atomic
def invoice_toggle_uncollectible(*, invoice: Invoice, now: datetime) -> Invoice:
    """finalized → uncollectible (timestamp set), uncollectible → finalized (cleared)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.UNCOLLECTIBLE:
        event_type = _transition(invoice, InvoiceStatus.FINALIZED)
        invoice.uncollectible_at = None
    else:
        event_type = _transition(invoice, InvoiceStatus.UNCOLLECTIBLE)
        invoice.uncollectible_at = now
    invoice.save(update_fields=["status", "uncollectible_at", "updated_at"])
    _record(invoice, event_type)
    return invoice


@transaction.atomic
def invoice_record_sent(*, invoice: Invoice, now: datetime) -> Invoice:
    """Record that the invoice was emailed to the customer (`send`): `sent_at` is the
    latest sending, and each one is an `invoice.sent` event."""
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    invoice.sent_at = now
    invoice.save(update_fields=["sent_at", "updated_at"])
    _record(invoice, "invoice.sent")
    return invoice


def _settled_status(invoice: Invoice, *, owed: Decimal, processing: bool) -> InvoiceStatus:
    if owed <= 0:
        return InvoiceStatus.PAID
    if processing:
        return InvoiceStatus.PENDING
    if invoice.status == InvoiceStatus.UNCOLLECTIBLE:
        return InvoiceStatus.UNCOLLECTIBLE
    return InvoiceStatus.FINALIZED


@transaction.atomic
def invoice_settle(*, invoice: Invoice, paid: Decimal, processing: bool, now: datetime) -> Invoice:
    """Move the invoice to what the payments app says of it: `paid`, what succeeded
    payments applied to it net of refunds; `processing`, whether a payment applied to it
    is still processing. Paid when nothing is due, pending while a payment is processing,
    finalized when a refund or a failed payment leaves an amount due. The caller holds the
    invoice's row lock (payments lock before applying)."""
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if invoice.status not in (*PAYABLE_STATUSES, InvoiceStatus.PAID):
        return invoice
    owed = (
        Invoice.objects.filter(pk=invoice.pk)
        .annotate(owed=invoice_amount_owed_expression(Value(paid)))
        .values_list("owed", flat=True)
        .get()
    )
    target = _settled_status(invoice, owed=Decimal(owed), processing=processing)
    return _settle_to(invoice, target, now)


@transaction.atomic
def invoice_settle_payments(*, invoice: Invoice, now: datetime) -> Invoice:
    """invoice_settle for invoices' own verbs that change what is due (a credit note, the
    finalize of a pending invoice), reading the payments through what the payments app
    registered (invoices.payments_reads)."""
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if invoice.status not in (*PAYABLE_STATUSES, InvoiceStatus.PAID):
        return invoice
    target = _settled_status(
        invoice,
        owed=invoice_amount_due(invoice),
        processing=invoice_has_processing_payments(invoice),
    )
    return _settle_to(invoice, target, now)


def _settle_to(invoice: Invoice, target: InvoiceStatus, now: datetime) -> Invoice:
    if target == invoice.status:
        return invoice
    # pending → finalized is also invoice_finalize's pair; here it needs no renumbering.
    event_type = _transition(invoice, target)
    invoice.paid_at = now if target == InvoiceStatus.PAID else None
    if target == InvoiceStatus.PAID:
        invoice.uncollectible_at = None
    invoice.save(update_fields=["status", "paid_at", "uncollectible_at", "updated_at"])
    if target == InvoiceStatus.PAID:
        # What was still open to pay it would only be refused now. Closed before the
        # event is built, so the payments it lists show them cancelled.
        invoice_payments_close(invoice, now)
    _record(invoice, event_type)
    return invoice
