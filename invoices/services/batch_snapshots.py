"""The event snapshot of a batch-issued invoice: InvoiceSerializer's shape, built from the
objects in memory rather than a serializer render (subscriptions' test_cycles compares
the whole of both).

Amounts are Decimals, as the serializer's DecimalFields give them: the event's column and
webhook bodies write them as JSON numbers (billing.encoders). The parts that depend only
on an invoice's prices (its lines but their ids, its totals) are built apart, so a batch
builds them once for all the invoices priced alike (invoices.services.batch_pricing).
"""

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal, localcontext
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from billing.money import QUANTITY_MAX_DIGITS
from invoices.models import Invoice, InvoiceLine


def _fixed(value: Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    # Wider than the default context: a stored quantity has up to 30 digits.
    with localcontext(prec=QUANTITY_MAX_DIGITS):
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
    return _local_text(value, timezone.get_default_timezone())


# A batch stamps all its invoices with the same few instants.
@lru_cache(maxsize=64)
def _local_text(value: datetime, zone: tzinfo) -> str:
    text = timezone.localtime(value, zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def line_snapshot(line: InvoiceLine | SimpleNamespace) -> dict[str, Any]:
    """A line as the invoice's snapshot lists it (its id first)."""
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


def totals_snapshot(invoice: Invoice) -> dict[str, Any]:
    """The snapshot's keys from `discount` to `amount_due`, in order: what the invoice's
    discount, exchange rate, tax rate and totals say."""
    return {
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
    }


def invoice_batch_snapshot(
    invoice: Invoice, lines: Sequence[InvoiceLine | SimpleNamespace]
) -> dict[str, Any]:
    """What InvoiceSerializer shows for a new invoice (no payments, notes or PDF yet):
    every key, in its order."""
    return snapshot_of(invoice, [line_snapshot(line) for line in lines], totals_snapshot(invoice))


def snapshot_of(
    invoice: Invoice, lines: list[dict[str, Any]], totals: dict[str, Any]
) -> dict[str, Any]:
    """`invoice_batch_snapshot` from its lines' snapshots and its `totals_snapshot`."""
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
        "lines": lines,
        "references": invoice.references,
        **totals,
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
