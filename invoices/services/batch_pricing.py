"""Pricing a batch's invoices once per shape.

A billing cycle issues thousands of invoices that few plans price: every subscription on
the same lines, quantities and coupons gets the same line columns and totals. Their
totals (billing.documents.apply_totals) and snapshot parts (batch_snapshots) are
computed for the first invoice of each shape and copied to the others. A shape is every
value the pricing reads: the invoice's document type (the object itself), tenant, tax
rate, currency, discount and exchange rate, and each line row's items, Decimals by
their text (`1.0` and `1` are priced alike but stored as given). A row holding anything
else (a named tax rule) is priced on its own, as is any invoice that fails to price.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from billing.documents import TOTAL_FIELDS, LineRow, apply_totals, line_columns
from invoices.models import Invoice, InvoiceLine
from invoices.services.batch_snapshots import line_snapshot, totals_snapshot

# Every column of a line, and what a line that does not say takes (no default is callable
# but the id's, made in bulk).
LINE_COLUMNS = [field.attname for field in InvoiceLine._meta.concrete_fields]
_LINE_DEFAULTS = {
    field.attname: field.get_default()
    for field in InvoiceLine._meta.concrete_fields
    if not field.primary_key
}
_ID_AT, _INVOICE_AT = LINE_COLUMNS.index("id"), LINE_COLUMNS.index("invoice_id")
_PLAIN = (str, int, bool, type(None))


@dataclass(frozen=True)
class Priced:
    """One shape's prices: shared by the invoices priced alike, never changed."""

    # Each line's LINE_COLUMNS, totals computed, but for its id and invoice.
    lines: list[list[Any]]
    # The invoice's TOTAL_FIELDS.
    totals: dict[str, Any]
    # Each line's snapshot without its id, and the invoice's totals_snapshot.
    line_snapshots: list[dict[str, Any]]
    totals_snapshot: dict[str, Any]

    def line_rows(self, invoice_id: str, ids: Sequence[str]) -> list[list[Any]]:
        """Each line's LINE_COLUMNS on that invoice, with these ids."""
        rows = []
        for line, line_id in zip(self.lines, ids, strict=True):
            row = line.copy()
            row[_ID_AT], row[_INVOICE_AT] = line_id, invoice_id
            rows.append(row)
        return rows

    def snapshot_lines(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {"id": line_id, **snapshot}
            for line_id, snapshot in zip(ids, self.line_snapshots, strict=True)
        ]


class BatchPricing:
    def __init__(self) -> None:
        self._priced: dict[tuple[Any, ...], Priced] = {}

    def price(self, invoice: Invoice, rows: Sequence[LineRow]) -> Priced:
        """Set the invoice's totals as apply_totals sets them; its lines' columns."""
        key = _shape(invoice, rows)
        priced = self._priced.get(key) if key is not None else None
        if priced is None:
            priced = _price(invoice, rows)
            if key is not None:
                self._priced[key] = priced
        for name, value in priced.totals.items():
            setattr(invoice, name, value)
        # The invoice's own list, as apply_totals gives each invoice one.
        invoice.additional_taxes = [dict(row) for row in priced.totals["additional_taxes"]]
        return priced


def _price(invoice: Invoice, rows: Sequence[LineRow]) -> Priced:
    lines = [
        {**_LINE_DEFAULTS, "id": None, "position": position, **line_columns(invoice, position, row)}
        for position, row in enumerate(rows)
    ]
    apply_totals(invoice, lines)
    snapshots = [line_snapshot(SimpleNamespace(**line)) for line in lines]
    for snapshot in snapshots:
        del snapshot["id"]
    return Priced(
        lines=[[line[name] for name in LINE_COLUMNS] for line in lines],
        totals={name: getattr(invoice, name) for name in TOTAL_FIELDS},
        line_snapshots=snapshots,
        totals_snapshot=totals_snapshot(invoice),
    )


def _shape(invoice: Invoice, rows: Sequence[LineRow]) -> tuple[Any, ...] | None:
    values: list[Any] = [
        id(invoice.document), invoice.document_id, invoice.workspace_id, invoice.test_mode,
        invoice.currency_id, invoice.discount_scheme,
    ]  # fmt: skip
    items = [
        ("", invoice.tax_percent), ("", invoice.discount), ("", invoice.custom_change),
        *(item for row in rows for item in [*row.items(), ("", None)]),  # a row's end
    ]  # fmt: skip
    for name, value in items:
        kind = type(value)
        if kind is Decimal:
            values.append((name, kind, str(value)))
        elif kind in _PLAIN and name != "tax":
            values.append((name, kind, value))
        else:
            return None
    return tuple(values)
