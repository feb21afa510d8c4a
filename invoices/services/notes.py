"""Credit and debit notes: the only way to correct a finalized invoice (rules.md §3).

A note references one invoice of the same tenant with a reason, the SII's CodRef:
- 1 annuls the invoice: the note mirrors the invoice's lines, discount and totals, and
  lines in the request are refused (a partial annulment is a reason-3 note);
- 2 corrects text: no amounts; the note has one zero-amount line naming the correction
  (its `description`, required), and lines in the request are refused;
- 3 corrects amounts: the request's lines, a partial credit or debit.
Notes are priced in the invoice's terms: its currency, tax rate and `custom_change`, and
when the invoice's type has no taxes the note's lines are exempt too.

A credit note never takes off more than the invoice's creditable amount
(total_adjusted − finalized credit notes + finalized debit notes), checked on every draft
write and again at finalize under the invoice's row lock, so two credit notes finalized
concurrently cannot over-credit it. Locks are always taken invoice first, then note.

Finalizing a reason-1 credit note that annuls a finalized invoice holding no payment
cancels the invoice; `invoice_cancel` is exactly that, in one transaction. Any other
finalized note moves the invoice to what its amount due says (invoice_settle_payments):
credited down to 0 it is paid. A credit note that takes off more than the invoice still
owed (it was paid, wholly or partly) records the excess as credit in the customer's
balance, in the same transaction, so the amount due ends at 0, never below.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date as date_type
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack, cast

from django.db import transaction

from billing.clock import workspace_today
from billing.documents import (
    LineRow,
    ReferenceRow,
    apply_totals,
    build_lines,
    check_kept_lines_type,
    mirrored_rows,
    note_terms,
    same_lines,
    store_lines,
)
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Workspace
from billing.services.events import event_record
from billing.services.numbering import number_take
from customers.choices import BalanceTransactionKind
from customers.services import customer_balance_record
from invoices.choices import (
    INVOICE_TRANSITIONS,
    InvoiceStatus,
    NoteStatus,
    ReferenceReason,
    default_reference_reason,
)
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DebitNote,
    DebitNoteLine,
    Invoice,
)
from invoices.payments_closing import invoice_payments_close
from invoices.pdf.storage import document_pdf_schedule
from invoices.representations import invoice_snapshot, note_snapshot
from invoices.selectors import (
    invoice_amount_due,
    invoice_creditable_amount,
    invoice_has_payments,
)
from invoices.services.invoices import invoice_settle_payments, invoice_toggle_uncollectible

# The two kinds of note share every rule here; the abstract `Note` has no manager.
Note = CreditNote | DebitNote
NoteLine = CreditNoteLine | DebitNoteLine

# Invoices a note may reference: issued, and not annulled.
NOTEABLE_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE)

# Chile's export invoice (110) is corrected by export notes (112 credit, 111 debit).
_CL_EXPORT_INVOICES = {"110"}
_CL_EXPORT_NOTES = {"111", "112"}


@dataclass(frozen=True)
class NoteKind:
    model: type[CreditNote] | type[DebitNote]
    line_model: type[CreditNoteLine] | type[DebitNoteLine]
    name: str  # event prefix and error-code prefix
    label: str
    # The type used when the request names none: Chile's, by export or not; others' generic.
    chile_codes: tuple[str, str]  # (domestic, export)
    generic_code: str

    @property
    def is_credit(self) -> bool:
        return self.model is CreditNote

    def is_note_type(self, document_type: DocumentType) -> bool:
        return document_type.is_credit_note if self.is_credit else document_type.is_debit_note


CREDIT = NoteKind(CreditNote, CreditNoteLine, "credit_note", "credit note", ("61", "112"), "CN")
DEBIT = NoteKind(DebitNote, DebitNoteLine, "debit_note", "debit note", ("56", "111"), "DN")


def kind_of(note: Note) -> NoteKind:
    return CREDIT if isinstance(note, CreditNote) else DEBIT


def _record(note: Note, verb: str) -> None:
    event_record(
        workspace=note.workspace,
        test_mode=note.test_mode,
        type=f"{kind_of(note).name}.{verb}",
        object_id=note.id,
        data=note_snapshot(note),
    )


# Validation


def _is_export(invoice: Invoice) -> bool:
    return invoice.document.country_id == "CL" and invoice.document.code in _CL_EXPORT_INVOICES


def default_note_type(kind: NoteKind, invoice: Invoice) -> DocumentType:
    country = invoice.workspace.country_id
    if country == "CL":
        code = kind.chile_codes[1] if _is_export(invoice) else kind.chile_codes[0]
    else:
        code = kind.generic_code
    return DocumentType.objects.get(country_id=country, code=code)


def _check_document_type(kind: NoteKind, invoice: Invoice, document_type: DocumentType) -> None:
    workspace = invoice.workspace
    if not (kind.is_note_type(document_type) and document_type.is_sale):
        raise InvalidInput({"document": [f"{document_type} is not a {kind.label} type."]})
    if not document_type.is_electronic:
        raise InvalidInput({"document": [f"{document_type} is a paper document type."]})
    if document_type.country_id != workspace.country_id:
        raise InvalidInput(
            {"document": [f"{document_type} belongs to {document_type.country_id}, "
                          f"the workspace to {workspace.country_id}."]}
        )  # fmt: skip
    if workspace.country_id == "CL" and _is_export(invoice) != (
        document_type.code in _CL_EXPORT_NOTES
    ):
        expected = default_note_type(kind, invoice)
        raise InvalidInput(
            {"document": [f"Invoice type {invoice.document.code} is corrected by "
                          f"{expected.code}, not {document_type.code}."]}
        )  # fmt: skip


def _check_invoice(kind: NoteKind, invoice: Invoice, workspace: Workspace, test_mode: bool) -> None:
    if invoice.workspace_id != workspace.pk or invoice.test_mode != test_mode:
        raise InvalidInput({"invoice": ["No such invoice."]})
    if invoice.status not in NOTEABLE_STATUSES:
        raise InvalidInput(
            {"invoice": [f"Invoice {invoice.id} is {invoice.status}; a {kind.label} references "
                         "a finalized, paid or uncollectible invoice."]}
        )  # fmt: skip


def _check_date(note: Note, invoice: Invoice) -> None:
    if note.date < invoice.date:
        raise InvalidInput(
            {"date": [f"A note cannot precede the invoice it references ({invoice.date})."]}
        )


def _check_reason(kind: NoteKind, reason: int, description: str) -> None:
    if reason == ReferenceReason.ANNULS and not kind.is_credit:
        raise InvalidInput(
            {"reason": ["A debit note cannot annul an invoice (reason 1); use a credit note."]}
        )
    if reason == ReferenceReason.CORRECTS_TEXT and not description:
        raise InvalidInput({"description": ["Required with reason 2: the text the note corrects."]})


def _check_amounts(kind: NoteKind, note: Note, invoice: Invoice) -> None:
    if note.reason == ReferenceReason.CORRECTS_AMOUNTS and note.total_adjusted <= 0:
        raise InvalidInput({"lines": ["A note correcting amounts (reason 3) needs an amount."]})
    if kind.is_credit:
        creditable = invoice_creditable_amount(invoice)
        if note.total_adjusted > creditable:
            field = "invoice" if note.reason == ReferenceReason.ANNULS else "lines"
            raise InvalidInput(
                {field: [f"The credit note's total {note.total_adjusted.normalize():f} exceeds "
                         f"what invoice {invoice.id} can still be credited: "
                         f"{creditable.normalize():f}."]}
            )  # fmt: skip


# Lines and references


def _sent_back(note: Note, rows: Sequence[LineRow]) -> bool:
    """Whether `rows` are the draft's stored lines as they are: a retrieved note PUT back,
    which a note whose lines are made for it (reasons 1 and 2) accepts like any other."""
    if note._state.adding:
        return False
    line_model = kind_of(note).line_model
    stored = list(note.lines.all())
    sent = build_lines(line_model, {"note": note}, rows, replacing=stored)
    return same_lines(line_model, stored, sent)


def _rows_for(
    note: Note, invoice: Invoice, rows: Sequence[LineRow] | None
) -> Sequence[LineRow] | None:
    """The note's lines for its reason; None keeps the stored ones (reason 3 only)."""
    if rows and note.reason != ReferenceReason.CORRECTS_AMOUNTS and _sent_back(note, rows):
        rows = None
    if note.reason == ReferenceReason.ANNULS:
        if rows:
            raise InvalidInput(
                {"lines": ["A note that annuls (reason 1) mirrors the invoice's lines; "
                           "send none, or use reason 3 for a partial credit."]}
            )  # fmt: skip
        return mirrored_rows(invoice.lines.all())
    if note.reason == ReferenceReason.CORRECTS_TEXT:
        if rows:
            raise InvalidInput(
                {"lines": ["A note that corrects text (reason 2) has no amounts; "
                           "its one line is its description."]}
            )  # fmt: skip
        return [{"name": note.description, "amount": Decimal(0), "quantity": Decimal(1)}]
    if rows is not None and not rows:
        raise InvalidInput(
            {"lines": ["A note that corrects amounts (reason 3) needs at least one line."]}
        )
    return rows


def _reference(note: Note, invoice: Invoice) -> ReferenceRow:
    """The SII's Referencia to the invoice: TpoDocRef, FolioRef, FchRef, CodRef, RazonRef."""
    return {
        "document": invoice.document.code,
        "serial": str(invoice.number),
        "date": invoice.date.isoformat(),
        "code": note.reason,
        "description": note.description,
    }


def _price(note: Note, invoice: Invoice, rows: Sequence[LineRow] | None) -> None:
    """Take the invoice's terms, build the lines for the reason, compute totals, save."""
    kind = kind_of(note)
    note.customer_id = invoice.customer_id
    note_terms(note, invoice, annuls=note.reason == ReferenceReason.ANNULS)
    note.references = [_reference(note, invoice)]
    rows = _rows_for(note, invoice, rows)
    lines: list[Any]  # CreditNoteLine or DebitNoteLine, as `kind` says
    if rows is None:
        lines = list(note.lines.all())
        if not lines:
            raise InvalidInput(
                {"lines": ["A note that corrects amounts (reason 3) needs at least one line."]}
            )
    else:
        # A line copied from the invoice as it reads keeps the invoice line's exact price
        # (reason 1's rows carry theirs; reason 2's one line has no amount to keep).
        copied = (
            list(invoice.lines.all()) if note.reason == ReferenceReason.CORRECTS_AMOUNTS else []
        )
        lines = cast(
            list[Any], build_lines(kind.line_model, {"note": note}, rows, replacing=copied)
        )
    if not invoice.document.has_taxes:
        for line in lines:
            line.exempt = True
    apply_totals(note, lines)
    _check_amounts(kind, note, invoice)
    note.save()
    store_lines(kind.line_model, lines, replace=None if rows is None else note.lines)


# Writes


class NoteFields(TypedDict, total=False):
    """What a note's create or update may set besides its invoice, type, date, reason,
    description and lines (NoteSerializer's other writable fields)."""

    note: str
    metadata: dict[str, Any]


class NoteChanges(NoteFields, total=False):
    """What a draft note's update may set."""

    invoice: Invoice
    document: DocumentType
    date: date_type
    reason: int
    description: str


def _note_create(
    kind: NoteKind,
    *,
    workspace: Workspace,
    test_mode: bool,
    invoice: Invoice,
    now: datetime,
    reason: int | None = None,
    document: DocumentType | None = None,
    date: date_type | None = None,
    description: str = "",
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[NoteFields],
) -> Note:
    invoice = Invoice.objects.select_related("document", "workspace").get(pk=invoice.pk)
    _check_invoice(kind, invoice, workspace, test_mode)
    if reason is None:
        reason = default_reference_reason(lines, can_annul=kind.is_credit)
    _check_reason(kind, reason, description)
    document = document or default_note_type(kind, invoice)
    _check_document_type(kind, invoice, document)
    note = kind.model(
        workspace=workspace,
        test_mode=test_mode,
        invoice=invoice,
        document=document,
        reason=reason,
        description=description,
        date=date or workspace_today(workspace, now),
        **fields,
    )
    _check_date(note, invoice)
    _price(note, invoice, lines if lines is not None else [])
    _record(note, "created")
    return note


@transaction.atomic
def credit_note_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    invoice: Invoice,
    now: datetime,
    reason: int | None = None,
    document: DocumentType | None = None,
    date: date_type | None = None,
    description: str = "",
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[NoteFields],
) -> CreditNote:
    """A draft credit note; see the module's docstring for what each reason takes.

    `reason` defaults as a purchase credit note's does (default_reference_reason),
    `document` defaults to the credit note type that corrects the invoice's type, `date`
    to today in the workspace's timezone at `now`.
    """
    return cast(CreditNote, _note_create(
        CREDIT, workspace=workspace, test_mode=test_mode, invoice=invoice, reason=reason,
        now=now, document=document, date=date, description=description, lines=lines, **fields,
    ))  # fmt: skip


@transaction.atomic
def debit_note_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    invoice: Invoice,
    now: datetime,
    reason: int | None = None,
    document: DocumentType | None = None,
    date: date_type | None = None,
    description: str = "",
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[NoteFields],
) -> DebitNote:
    """A draft debit note, as credit_note_create; a debit note cannot annul (reason 1)."""
    return cast(DebitNote, _note_create(
        DEBIT, workspace=workspace, test_mode=test_mode, invoice=invoice, reason=reason,
        now=now, document=document, date=date, description=description, lines=lines, **fields,
    ))  # fmt: skip


def _lock_draft(note: Note) -> Note:
    kind = kind_of(note)
    # `of`: lock the note's row only, never the document type all notes share.
    note = (
        kind.model.objects.select_for_update(of=("self",))
        .select_related("document")
        .get(pk=note.pk)
    )
    if note.status != NoteStatus.DRAFT:
        raise DomainError(
            f"{kind.name}_not_draft",
            f"{kind.label.capitalize()} {note.id} is {note.status}; only drafts can change.",
        )
    return note


def _update(note: Note, lines: Sequence[LineRow] | None, fields: Mapping[str, object]) -> Note:
    note = _lock_draft(note)
    kind = kind_of(note)
    # A note's lines are priced in its invoice's terms: re-pointed, the kept lines of a
    # note correcting amounts are read in the new invoice's (reasons 1 and 2 make theirs).
    moved_to = cast(Invoice | None, fields.get("invoice"))
    reason = fields.get("reason", note.reason)
    if (
        moved_to is not None
        and lines is None
        and reason == ReferenceReason.CORRECTS_AMOUNTS
        and moved_to.pk != note.invoice_id
    ):
        check_kept_lines_type(note.invoice.document, moved_to.document)
    for name, value in fields.items():
        setattr(note, name, value)
    invoice = Invoice.objects.select_related("document", "workspace").get(pk=note.invoice_id)
    _check_invoice(kind, invoice, note.workspace, note.test_mode)
    _check_reason(kind, note.reason, note.description)
    _check_document_type(kind, invoice, note.document)
    _check_date(note, invoice)
    _price(note, invoice, lines)
    return note


# The note is named by its kind: a note's own `note` (its free text) is one of `fields`.


@transaction.atomic
def credit_note_update(
    *,
    credit_note: CreditNote,
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[NoteChanges],
) -> CreditNote:
    """Change a draft and price it again; lines are kept unless given (reason 3)."""
    return cast(CreditNote, _update(credit_note, lines, fields))


@transaction.atomic
def debit_note_update(
    *,
    debit_note: DebitNote,
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[NoteChanges],
) -> DebitNote:
    """Change a draft and price it again; lines are kept unless given (reason 3)."""
    return cast(DebitNote, _update(debit_note, lines, fields))


@transaction.atomic
def note_delete(*, note: Note) -> None:
    _lock_draft(note).delete()


def _lock_for_finalize(note: Note) -> tuple[Note, Invoice]:
    kind = kind_of(note)
    invoice_id = note.invoice_id
    while True:
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("document")
            .get(pk=invoice_id)
        )
        note = (
            kind.model.objects.select_for_update(of=("self",))
            .select_related("document")
            .get(pk=note.pk)
        )
        if note.invoice_id == invoice_id:
            return note, invoice
        invoice_id = note.invoice_id  # re-pointed by a concurrent edit; lock the new one


@transaction.atomic
def note_finalize(*, note: Note, now: datetime) -> Note:
    """Freeze the note's totals and take the next number of its own document type.

    The invoice's row is locked first, so the over-credit check and the cancellation of
    an annulled invoice see every other finalized note of it.
    """
    kind = kind_of(note)
    note, invoice = _lock_for_finalize(note)
    if note.status != NoteStatus.DRAFT:
        raise DomainError(
            f"{kind.name}_invalid_transition",
            f"{kind.label.capitalize()} {note.id} is {note.status}; only drafts finalize.",
        )
    if invoice.status not in NOTEABLE_STATUSES:
        raise DomainError(
            "invoice_not_noteable",
            f"Invoice {invoice.id} is {invoice.status}; its notes can no longer finalize.",
        )
    lines: list[Any] = list(note.lines.all())
    if not lines:
        raise DomainError(f"{kind.name}_without_lines", f"A {kind.label} needs at least one line.")
    apply_totals(note, lines)
    store_lines(kind.line_model, lines)
    if kind.is_credit and note.total_adjusted > invoice_creditable_amount(invoice):
        raise DomainError(
            "credit_note_exceeds_invoice",
            f"Invoice {invoice.id} can no longer be credited "
            f"{note.total_adjusted.normalize():f}; other credit notes took it first.",
        )
    note.number = number_take(
        workspace=note.workspace, test_mode=note.test_mode, document_type=note.document, now=now
    )
    note.status = NoteStatus.FINALIZED
    note.mark_finalized(now)
    note.save()
    _record(note, "finalized")
    document_pdf_schedule(note)
    if kind.is_credit:
        _credit_beyond_due_to_balance(cast(CreditNote, note), invoice)
    if (
        kind.is_credit
        and note.reason == ReferenceReason.ANNULS
        and invoice.status in (InvoiceStatus.FINALIZED, InvoiceStatus.UNCOLLECTIBLE)
        and invoice_creditable_amount(invoice) == 0
        and not invoice_has_payments(invoice)
    ):
        if invoice.status == InvoiceStatus.UNCOLLECTIBLE:
            # Annulled, not paid: back to finalized (finalized ⇄ uncollectible), the one
            # status a cancellation starts from (rules.md §3).
            invoice = invoice_toggle_uncollectible(invoice=invoice, now=now)
        _cancel(invoice, now)
    else:
        settled = invoice_settle_payments(invoice=invoice, now=now)
        # A status change records its own event; a note that leaves the status as it was
        # still changes what is due, which subscribers read on the invoice.
        if settled.status == invoice.status and note.total_adjusted:
            _record_invoice(invoice, "invoice.updated")
    return note


def _credit_beyond_due_to_balance(note: CreditNote, invoice: Invoice) -> None:
    """What the credit note took off beyond the invoice's amount due was already paid:
    the customer now holds it as credit with us (refund it, or keep it for them)."""
    due = invoice_amount_due(invoice)
    if due >= 0:
        return
    customer_balance_record(
        customer=invoice.customer,
        currency=invoice.currency_id,
        amount=-due,
        kind=BalanceTransactionKind.CREDIT_NOTE,
        invoice_id=invoice.id,
        source_id=note.id,
        description=f"{note.document.name} {note.number} on {invoice.document.name} "
        f"{invoice.number}"[:256],
    )


def _record_invoice(invoice: Invoice, event_type: str) -> None:
    event_record(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        type=event_type,
        object_id=invoice.id,
        data=invoice_snapshot(invoice),
    )


def _cancel(invoice: Invoice, now: datetime) -> None:
    if (invoice.status, InvoiceStatus.CANCELLED) not in INVOICE_TRANSITIONS:
        raise DomainError(
            "invoice_invalid_transition",
            f"Invoice {invoice.id} is {invoice.status} and cannot become cancelled.",
        )
    invoice.status = InvoiceStatus.CANCELLED
    invoice.cancelled_at = now
    invoice.save(update_fields=["status", "cancelled_at", "updated_at"])
    # Nothing may be paid on it any more: intents and payments waiting to pay it end too,
    # before its event is built, so the payments it lists show them cancelled.
    invoice_payments_close(invoice, now)
    _record_invoice(invoice, "invoice.cancelled")


def _annulment_text(invoice: Invoice) -> str:
    if invoice.workspace.country_id == "CL":
        return f"Anula {invoice.document.name} N° {invoice.number}"[:90]
    return f"Cancels {invoice.document.name} {invoice.number}"[:90]


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, now: datetime) -> CreditNote:
    """Annul a finalized invoice: create and finalize a reason-1 credit note mirroring it
    (61 for a Chilean invoice, 112 for an export one, the generic credit note elsewhere),
    which cancels the invoice. Returns that credit note.

    A draft is refused (delete it instead), and so is an invoice that other notes already
    corrected (a reason-1 note would not bring its amount due to exactly 0) or that holds
    a payment (one processing, or one succeeded and not wholly refunded): the customer's
    money must be accounted for, so that takes a credit note, whose excess over the
    amount due goes to the customer's balance.
    """
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("document", "workspace")
        .get(pk=invoice.pk)
    )
    if invoice.status == InvoiceStatus.DRAFT:
        raise DomainError(
            "invoice_invalid_transition",
            f"Invoice {invoice.id} is a draft; delete it instead of cancelling it.",
        )
    if invoice_has_payments(invoice):
        raise DomainError(
            "invoice_has_payments",
            f"Invoice {invoice.id} has payments, so it cannot be cancelled; correct it with "
            "a credit note (what it credits beyond the amount due goes to the customer's "
            "balance), or refund the payments first.",
        )
    if invoice.status != InvoiceStatus.FINALIZED:
        raise DomainError(
            "invoice_invalid_transition",
            f"Invoice {invoice.id} is {invoice.status}; only finalized invoices are cancelled.",
        )
    if invoice_creditable_amount(invoice) != invoice.total_adjusted:
        raise DomainError(
            "invoice_has_notes",
            f"Invoice {invoice.id} has finalized credit or debit notes; credit what remains "
            "with a credit note instead.",
        )
    note = credit_note_create(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        invoice=invoice,
        reason=ReferenceReason.ANNULS,
        description=_annulment_text(invoice),
        now=now,
    )
    return cast(CreditNote, note_finalize(note=note, now=now))
