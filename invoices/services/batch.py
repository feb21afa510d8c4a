"""Many invoices at once, for billing cycles: created, and finalized unless kept for review.

`invoices_issue_batch` stores the same state as `invoice_create` followed by
`invoice_finalize` on each invoice (status, totals from the same `apply_totals`, a gapless
number, `finalized_at`, `biller_status` pending so the tax-agency beat submits it) in a
handful of queries instead of a dozen per invoice: rows are bulk-inserted (COPY; lines and
events as plain rows, never instances, with ids made in bulk), each
(document type) takes its numbers under one lock (contiguous, but for a run from one CAF
range into the next), and events are recorded in bulk with
a snapshot built from the objects in memory rather than a serializer render. PDFs are
queued when the transaction commits, a few dozen documents per task.

The caller holds the transaction, and locks whatever the invoices are issued for.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from billing.bulk import bulk_insert, copy_rows
from billing.documents import LineRow
from billing.errors import DomainError
from billing.ids import public_ids
from billing.models import Workspace
from billing.services.events import NewEvent, event_record_rows
from billing.services.numbering import number_take_range
from customers.models import Customer
from invoices.choices import InvoiceStatus
from invoices.models import Invoice, InvoiceLine
from invoices.pdf.storage import documents_pdf_schedule
from invoices.services.batch_pricing import LINE_COLUMNS, BatchPricing
from invoices.services.batch_snapshots import snapshot_of
from invoices.services.invoices import invoice_paid_if_nothing_due


@dataclass
class InvoiceDraft:
    """An unsaved invoice (its `document` loaded) and its line rows, as `invoice_create`
    takes them."""

    invoice: Invoice
    lines: Sequence[LineRow]


def invoices_issue_batch(
    *, workspace: Workspace, test_mode: bool, drafts: Sequence[InvoiceDraft], finalize: bool,
    now: datetime, publish_events: Callable[[list[str]], None] | None = None,
    collect_events: list[str] | None = None,
) -> list[Invoice]:  # fmt: skip
    """Create the drafts' invoices in one go, finalized and numbered when `finalize`.
    `publish_events` and `collect_events` are event_record_rows' `publish` and `collect`.

    Lines are written as rows (their columns, totals by the same `apply_totals`, computed
    once per shape: batch_pricing): a cycle writes thousands that nothing reads back as
    instances."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("invoices are issued inside the caller's transaction")
    if finalize and any(not draft.lines for draft in drafts):
        # invoice_finalize's rule: a document with no line is refused by the tax agency,
        # after it has taken a number.
        raise DomainError("invoice_without_lines", "An invoice needs at least one line.")
    invoices = []
    priced = []
    pricing = BatchPricing()
    if finalize:
        _load_customers([draft.invoice for draft in drafts])
    for draft in drafts:
        invoice = draft.invoice
        invoice.workspace, invoice.test_mode = workspace, test_mode
        priced.append(pricing.price(invoice, draft.lines))
        if finalize:
            invoice.status = InvoiceStatus.FINALIZED
            invoice.mark_finalized(now)
        invoices.append(invoice)
    ids = iter(public_ids("lin", sum(len(draft.lines) for draft in drafts)))
    line_ids = [[next(ids) for _ in prices.lines] for prices in priced]
    if finalize:
        _number(workspace, test_mode, invoices, now)
    bulk_insert(Invoice, invoices)
    if finalize:
        documents_pdf_schedule(
            model_label=Invoice._meta.label, document_ids=[invoice.pk for invoice in invoices]
        )
    rows: list[list[Any]] = []
    for invoice, prices, own_ids in zip(invoices, priced, line_ids, strict=True):
        rows += prices.line_rows(invoice.pk, own_ids)
    copy_rows(InvoiceLine, LINE_COLUMNS, rows)
    # Every invoice announces its creation, as a single one does; one finalized at once
    # announces its finalize next, both with the invoice as it was stored.
    event_types = ["invoice.created", "invoice.finalized"] if finalize else ["invoice.created"]
    events = []
    for invoice, prices, own_ids in zip(invoices, priced, line_ids, strict=True):
        data = snapshot_of(invoice, prices.snapshot_lines(own_ids), prices.totals_snapshot)
        events += [NewEvent(event_type, invoice.id, data) for event_type in event_types]
    event_record_rows(
        workspace_id=workspace.pk, test_mode=test_mode, events=events, publish=publish_events,
        collect=collect_events, new_objects=True,
    )  # fmt: skip
    if finalize:
        invoices = [invoice_paid_if_nothing_due(invoice, now) for invoice in invoices]
    return invoices


def _load_customers(invoices: list[Invoice]) -> None:
    """Give each invoice its customer, which finalizing copies onto it, in one query: a
    cycle's drafts name the customer by key only."""
    missing = [invoice for invoice in invoices if not Invoice.customer.is_cached(invoice)]
    customers = Customer.objects.in_bulk({invoice.customer_id for invoice in missing})
    for invoice in missing:
        invoice.customer = customers[invoice.customer_id]


def _number(workspace: Workspace, test_mode: bool, invoices: list[Invoice], now: datetime) -> None:
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
            now=now,
        )
        for invoice, number in zip(group, numbers, strict=True):
            invoice.number = number
