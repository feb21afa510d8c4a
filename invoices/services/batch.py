"""Many invoices at once, for billing cycles: created, and finalized unless kept for review.

`invoices_issue_batch` stores the same state as `invoice_create` followed by
`invoice_finalize` on each invoice (status, totals from the same `apply_totals`, a gapless
number, `finalized_at`, `biller_status` pending so the tax-agency beat submits it) in a
handful of queries instead of a dozen per invoice: rows are bulk-inserted (COPY; lines and
events as plain rows, never instances, with ids made in bulk), each
(document type) takes one contiguous number range, and events are recorded in bulk with
a snapshot built from the objects in memory rather than a serializer render. PDFs are
queued when the transaction commits, a few dozen documents per task.

The caller holds the transaction, and locks whatever the invoices are issued for.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.bulk import bulk_insert, copy_rows
from billing.documents import LineRow, apply_totals, line_columns
from billing.ids import public_ids
from billing.models import Workspace
from billing.services.events import NewEvent, event_record_rows
from billing.services.numbering import number_take_range
from invoices.choices import InvoiceStatus
from invoices.models import Invoice, InvoiceLine
from invoices.pdf.storage import documents_pdf_schedule


@dataclass
class InvoiceDraft:
    """An unsaved invoice (its `document` loaded) and its line rows, as `invoice_create`
    takes them."""

    invoice: Invoice
    lines: Sequence[LineRow]


# Every column of a line, and what a line that does not say takes (no default is callable
# but the id's, made in bulk).
_LINE_COLUMNS = [field.attname for field in InvoiceLine._meta.concrete_fields]
_LINE_DEFAULTS = {
    field.attname: field.get_default()
    for field in InvoiceLine._meta.concrete_fields
    if not field.primary_key
}


def invoices_issue_batch(
    *, workspace: Workspace, test_mode: bool, drafts: Sequence[InvoiceDraft], finalize: bool,
    now: datetime, publish_events: Callable[[list[str]], None] | None = None,
    collect_events: list[str] | None = None,
) -> list[Invoice]:  # fmt: skip
    """Create the drafts' invoices in one go, finalized and numbered when `finalize`.
    `publish_events` and `collect_events` are event_record_rows' `publish` and `collect`.

    Lines are written as rows (dicts of their columns, totals by the same `apply_totals`):
    a cycle writes thousands that nothing reads back as instances."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoices are issued inside the caller's transaction")
    invoices = []
    lines: list[list[dict[str, Any]]] = []
    ids = iter(public_ids("lin", sum(len(draft.lines) for draft in drafts)))
    for draft in drafts:
        invoice = draft.invoice
        invoice.workspace, invoice.test_mode = workspace, test_mode
        columns = [
            {**_LINE_DEFAULTS, "id": next(ids), "invoice_id": invoice.pk, "position": position,
             **line_columns(invoice, position, row)}
            for position, row in enumerate(draft.lines)
        ]  # fmt: skip
        apply_totals(invoice, columns)
        if finalize:
            invoice.status = InvoiceStatus.FINALIZED
            invoice.finalized_at = now
            invoice.queue_for_tax_agency()
        invoices.append(invoice)
        lines.append(columns)
    if finalize:
        _number(workspace, test_mode, invoices)
    bulk_insert(Invoice, invoices)
    if finalize:
        documents_pdf_schedule(
            model_label=Invoice._meta.label, document_ids=[invoice.pk for invoice in invoices]
        )
    copy_rows(
        InvoiceLine,
        _LINE_COLUMNS,
        [[line[name] for name in _LINE_COLUMNS] for columns in lines for line in columns],
    )
    event_type = "invoice.finalized" if finalize else "invoice.created"
    events = [
        NewEvent(
            event_type,
            invoice.id,
            invoice_batch_snapshot(invoice, [SimpleNamespace(**line) for line in columns]),
        )
        for invoice, columns in zip(invoices, lines, strict=True)
    ]
    event_record_rows(
        workspace_id=workspace.pk, test_mode=test_mode, events=events, publish=publish_events,
        collect=collect_events, new_objects=True,
    )  # fmt: skip
    return invoices


def _number(workspace: Workspace, test_mode: bool, invoices: list[Invoice]) -> None:
    by_type: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_type[invoice.document_id].append(invoice)
    # One document type after the other, in id order: batches lock counters in one order.
    for document_id in sorted(by_type):
        group = by_type[document_id]
        numbers = number_take_range(
            workspace=workspace,
            test_mode=test_mode,
            document_type=group[0].document,
            count=len(group),
        )
        for invoice, number in zip(group, numbers, strict=True):
            invoice.number = number


# The snapshot: InvoiceSerializer's shape, from the objects in memory.


# Amounts are Decimals, as the serializer's DecimalFields give them: the event's column and
# webhook bodies write them as JSON numbers (billing.encoders).


def _fixed(value: Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal(1).scaleb(-places))


def _percent(value: Decimal | None) -> Decimal | None:
    # A percent with normalize_output: four places, then trailing zeros off.
    fixed = _fixed(value, 4)
    return None if fixed is None else fixed.normalize()


def _normal(value: Decimal) -> Decimal:
    # DecimalField(normalize_output=True): quantized to 6 places, then trailing zeros off.
    return Decimal(value).quantize(Decimal("0.000001")).normalize()


def _datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = timezone.localtime(value, timezone.get_default_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _line_snapshot(line: InvoiceLine | SimpleNamespace) -> dict[str, Any]:
    return {
        "id": line.id,
        "name": line.name,
        "description": line.description,
        "quantity": _fixed(line.quantity, 6),
        "amount": _fixed(line.amount, 6),
        "exempt": line.exempt,
        "tax": line.tax_id,
        "tax_percent": _fixed(line.tax_percent, 4),
        "additional_tax": line.additional_tax,
        "additional_tax_percent": _percent(line.additional_tax_percent),
        "discount": _fixed(line.discount, 6),
        "discount_scheme": line.discount_scheme,
        "code": line.code,
        "code_scheme": line.code_scheme,
        "unit_label": line.unit_label,
        "plan": line.plan_id,
        "line_type": line.line_type,
        "retention_percent": _fixed(line.retention_percent, 4),
        "retention_scheme": line.retention_scheme,
        "total": _normal(line.total),
        "retention": _normal(line.retention),
    }


def invoice_batch_snapshot(
    invoice: Invoice, lines: Sequence[InvoiceLine | SimpleNamespace]
) -> dict[str, Any]:
    """What InvoiceSerializer shows for a new invoice (no payments, notes or PDF yet):
    every key, in its order (subscriptions' test_cycles compares the whole of both)."""
    return {
        "id": invoice.id,
        "customer": invoice.customer_id,
        "document": invoice.document_id,
        "number": invoice.number,
        "date": _date(invoice.date),
        "due_date": _date(invoice.due_date),
        "collection_method": invoice.collection_method,
        "orgunit": invoice.orgunit_id,
        "currency": invoice.currency_id,
        "period_start": _date(invoice.period_start),
        "period_end": _date(invoice.period_end),
        "note": invoice.note,
        "lines": [_line_snapshot(line) for line in lines],
        "references": invoice.references,
        "discount": _fixed(invoice.discount, 6),
        "discount_scheme": invoice.discount_scheme,
        "custom_change": _fixed(invoice.custom_change, 6),
        **{
            name: _normal(getattr(invoice, name))
            for name in ("amount", "exempt", "discount_amount", "subtotal", "tax")
        },
        "tax_percent": _normal(invoice.tax_percent),
        "additional_tax": _normal(invoice.additional_tax),
        "additional_taxes": [
            {
                "code": row["code"],
                "percent": _percent(Decimal(row["percent"])),
                "amount": _normal(Decimal(row["amount"])),
            }
            for row in invoice.additional_taxes
        ],
        "total": _normal(invoice.total),
        "retention": _normal(invoice.retention),
        "total_adjusted": _normal(invoice.total_adjusted),
        "amount_due": _normal(invoice.total_adjusted),
        "payments": [],
        "status": invoice.status,
        "biller_status": invoice.biller_status,
        "tax_agency": invoice.tax_agency,
        "local_file": None,
        "subscription": invoice.subscription_id,
        "imported": invoice.imported,
        "uncollectible": None,
        "finalized_at": _datetime(invoice.finalized_at),
        "sent_at": None,
        "stripe_id": "",
        "stripe_status": "",
        "stripe_sync_status": invoice.stripe_sync_status,
        "stripe_synced_at": None,
        "stripe_hosted_invoice_url": "",
        "stripe_invoice_pdf": "",
        "metadata": invoice.metadata,
        "test_mode": invoice.test_mode,
        "created": _datetime(invoice.created_at),
        "updated": _datetime(invoice.updated_at),
    }
