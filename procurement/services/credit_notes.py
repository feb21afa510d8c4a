"""Purchase credit notes: a supplier's credit on a finalized purchase (their folio), or
ours on a purchase we issued (46), numbered by our sequence.

The reason is the SII's CodRef, as on sales notes: 1 annuls the purchase (mirrors its
lines when none are sent), 2 corrects text (one zero-amount line, the description),
3 corrects amounts (the lines sent). A credit never exceeds what the purchase can still
be credited, checked under the purchase's row lock at finalize.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import transaction
from django.db.models import Sum

from billing.documents import LineRow, build_lines, mirrored_rows, note_terms, same_lines
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Workspace
from invoices.choices import ReferenceReason, default_reference_reason
from procurement.choices import ProcurementStatus
from procurement.models import Purchase, PurchaseCreditNote, PurchaseCreditNoteLine
from procurement.representations import purchase_credit_note_snapshot
from procurement.services.documents import (
    check_type_country,
    finalize,
    lock_draft,
    save_with_lines,
    settle_number,
)


def default_credit_note_type(workspace: Workspace) -> DocumentType:
    code = "61" if workspace.country_id == "CL" else "CN"
    return DocumentType.objects.get(country_id=workspace.country_id, code=code)


def _check_type(workspace: Workspace, document_type: DocumentType) -> None:
    if not (document_type.is_purchase and document_type.is_credit_note):
        raise InvalidInput({"document": [f"{document_type} is not a purchase credit note type."]})
    check_type_country(workspace, document_type)


def _check_purchase(workspace: Workspace, test_mode: bool, purchase: Purchase) -> None:
    if purchase.workspace_id != workspace.pk or purchase.test_mode != test_mode:
        raise InvalidInput({"purchase": ["No such purchase."]})
    if purchase.status != ProcurementStatus.FINALIZED:
        raise InvalidInput({"purchase": [f"Purchase {purchase.id} is not finalized."]})


def _sent_back(note: PurchaseCreditNote, rows: Sequence[LineRow] | None) -> bool:
    """Whether `rows` are the draft's stored lines as they are: a retrieved note PUT back,
    which a note whose lines are made for it (reasons 1 and 2) takes as no lines sent."""
    if note._state.adding or not rows:
        return False
    sent = build_lines(PurchaseCreditNoteLine, {"note": note}, rows)
    return same_lines(PurchaseCreditNoteLine, list(note.lines.all()), sent)


def _annuls(note: PurchaseCreditNote, rows: Sequence[LineRow] | None) -> bool:
    """Whether the note credits the whole purchase: reason 1 with the purchase's lines."""
    return note.reason == ReferenceReason.ANNULS and not rows


def _rows(
    note: PurchaseCreditNote, rows: Sequence[LineRow] | None
) -> Sequence[Mapping[str, Any]] | None:
    if note.reason == ReferenceReason.CORRECTS_TEXT:
        if rows:
            raise InvalidInput({"lines": ["A note correcting text (reason 2) has no amounts."]})
        if not note.description:
            raise InvalidInput({"description": ["Required with reason 2."]})
        return [{"name": note.description, "amount": Decimal(0)}]
    if _annuls(note, rows):
        return mirrored_rows(note.purchase.lines.all())
    if rows is not None and not rows:
        raise InvalidInput({"lines": ["At least one line is required."]})
    return rows


def _price(note: PurchaseCreditNote, rows: Sequence[LineRow] | None) -> None:
    purchase = note.purchase
    if note.reason != ReferenceReason.CORRECTS_AMOUNTS and _sent_back(note, rows):
        rows = None
    if note.date < purchase.date:
        raise InvalidInput({"date": [f"A note cannot precede its purchase ({purchase.date})."]})
    note.supplier_id = purchase.supplier_id
    note_terms(note, purchase, annuls=_annuls(note, rows))
    note.self_issued = purchase.self_issued
    note.references = [
        {
            "document": purchase.document.code,
            "serial": str(purchase.number),
            "date": purchase.date.isoformat(),
            "code": note.reason,
            "description": note.description,
        }
    ]
    settle_number(note)
    save_with_lines(note, PurchaseCreditNoteLine, "note", _rows(note, rows))
    _check_creditable(note, annuls=_annuls(note, rows))


def _check_creditable(note: PurchaseCreditNote, *, annuls: bool) -> None:
    """A note correcting amounts credits some, and no more than its purchase has left:
    refused where the draft is written, as a sales credit note is. Finalize checks the
    rest again under the purchase's lock, as other notes may be finalized in between.
    Raised inside the write's transaction: the draft's save is undone."""
    if note.reason == ReferenceReason.CORRECTS_AMOUNTS and note.total_adjusted <= 0:
        raise InvalidInput({"lines": ["A note correcting amounts (reason 3) needs an amount."]})
    creditable = purchase_creditable_amount(note.purchase)
    if note.total_adjusted > creditable:
        raise InvalidInput(
            {"purchase" if annuls else "lines": [
                f"The credit note's total {note.total_adjusted.normalize():f} exceeds what "
                f"purchase {note.purchase.id} can still be credited: {creditable.normalize():f}."
            ]}
        )  # fmt: skip


def purchase_creditable_amount(purchase: Purchase) -> Decimal:
    credited = PurchaseCreditNote.objects.filter(
        purchase=purchase, status=ProcurementStatus.FINALIZED
    ).aggregate(total=Sum("total_adjusted"))["total"]
    return purchase.total_adjusted - (credited or Decimal(0))


class PurchaseCreditNoteFields(TypedDict, total=False):
    """What a purchase credit note's create or update may set besides its purchase, type,
    date, reason and lines (PurchaseCreditNoteSerializer's other writable fields)."""

    number: int | None
    description: str
    note: str
    metadata: dict[str, Any]


class PurchaseCreditNoteChanges(PurchaseCreditNoteFields, total=False):
    """What a draft note's update may set."""

    purchase: Purchase
    document: DocumentType
    date: date
    reason: int


@transaction.atomic
def purchase_credit_note_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    purchase: Purchase,
    date: date,
    reason: int | None = None,
    document: DocumentType | None = None,
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[PurchaseCreditNoteFields],
) -> PurchaseCreditNote:
    purchase = Purchase.objects.select_related("document").get(pk=purchase.pk)
    _check_purchase(workspace, test_mode, purchase)
    document = document or default_credit_note_type(workspace)
    _check_type(workspace, document)
    note = PurchaseCreditNote(
        workspace=workspace,
        test_mode=test_mode,
        purchase=purchase,
        supplier_id=purchase.supplier_id,
        document=document,
        reason=reason if reason is not None else default_reference_reason(lines),
        date=date,
        **fields,
    )
    _price(note, lines)
    return note


@transaction.atomic
def purchase_credit_note_update(
    *,
    credit_note: PurchaseCreditNote,
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[PurchaseCreditNoteChanges],
) -> PurchaseCreditNote:
    note = lock_draft(credit_note, "purchase_credit_note")
    if "purchase" in fields:
        _check_purchase(note.workspace, note.test_mode, fields["purchase"])
    if "document" in fields:
        _check_type(note.workspace, fields["document"])
    for name, value in fields.items():
        setattr(note, name, value)
    _price(note, lines)
    return note


@transaction.atomic
def purchase_credit_note_delete(*, credit_note: PurchaseCreditNote) -> None:
    lock_draft(credit_note, "purchase_credit_note").delete()


@transaction.atomic
def purchase_credit_note_finalize(
    *, credit_note: PurchaseCreditNote, now: datetime
) -> PurchaseCreditNote:
    # The purchase first, then the note: the order every writer takes them in.
    purchase = Purchase.objects.select_for_update(of=("self",)).get(pk=credit_note.purchase_id)
    note = (
        PurchaseCreditNote.objects.select_for_update(of=("self",))
        .select_related("document", "supplier", "workspace")
        .get(pk=credit_note.pk)
    )
    finalize(
        note,
        name="purchase_credit_note",
        line_model=PurchaseCreditNoteLine,
        now=now,
        snapshot=purchase_credit_note_snapshot,
    )
    creditable = purchase_creditable_amount(purchase) + note.total_adjusted
    if note.total_adjusted > creditable:
        raise DomainError(
            "purchase_over_credited",
            f"The credit note's total {note.total_adjusted.normalize():f} exceeds what "
            f"purchase {purchase.id} can still be credited: {creditable.normalize():f}.",
        )
    return note
