"""Retentions (boletas de prestación de servicios de terceros): we pay a supplier their
gross amount less the honorarios tax, withheld at the rate of the document's date.

Every line carries that rate as its `retention_percent`, so the invoices' totals code
computes the withholding once on the gross, half-up in whole pesos (rules.md §2):
retention = round(gross × rate / 100), net = gross − retention.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import transaction

from billing.documents import LineRow
from billing.errors import InvalidInput
from billing.models import DocumentType, Workspace
from procurement.models import Purchase, Retention, RetentionLine, RetentionRate, Supplier
from procurement.representations import retention_snapshot
from procurement.services.documents import (
    check_supplier,
    check_type_country,
    finalize,
    lock_draft,
    save_with_lines,
)
from procurement.services.purchases import is_withholding_type

# A retention given as one gross amount gets one line named so.
DEFAULT_LINE_NAME = "Honorarios"


def retention_rate(*, country: str, on: date) -> Decimal:
    """The withholding rate in force on `on`: the latest that took effect by then."""
    rate = (
        RetentionRate.objects.filter(country_id=country, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("percent", flat=True)
        .first()
    )
    if rate is None:
        raise InvalidInput({"date": [f"No retention rate of {country} is in force on {on}."]})
    return rate


def default_retention_type(workspace: Workspace) -> DocumentType:
    found = DocumentType.objects.filter(
        country_id=workspace.country_id, hold_taxes=True, has_taxes=False, is_purchase=True
    ).first()
    if found is None:
        raise InvalidInput(
            {"document": [f"{workspace.country_id} has no retention document type."]}
        )
    return found


def _check_type(workspace: Workspace, document_type: DocumentType) -> None:
    if not (document_type.is_purchase and is_withholding_type(document_type)):
        raise InvalidInput({"document": [f"{document_type} is not a retention document type."]})
    check_type_country(workspace, document_type)


def _check_purchase(retention: Retention, purchase: Purchase | None) -> None:
    if purchase is None:
        return
    if (
        purchase.workspace_id != retention.workspace_id
        or purchase.test_mode != retention.test_mode
        or purchase.supplier_id != retention.supplier_id
    ):
        raise InvalidInput({"purchase": ["The purchase must be of the retention's supplier."]})


def _rows(lines: Sequence[LineRow] | None, amount: Decimal | None) -> Sequence[LineRow] | None:
    """The lines, or one line of the gross `amount` when no lines are sent. With lines,
    an `amount` sent too is what a retrieved retention shows: _check_amount compares it."""
    if amount is not None and not lines:
        return [{"name": DEFAULT_LINE_NAME, "amount": amount}]
    return lines


def _check_amount(
    retention: Retention, lines: Sequence[LineRow] | None, amount: Decimal | None
) -> None:
    """`amount` sent with `lines` must be their sum, as the retention shows it."""
    if lines and amount is not None and amount != retention.subtotal:
        raise InvalidInput(
            {"amount": [f"The lines add up to {retention.subtotal.normalize():f}; send that "
                        "amount with them, or send only `amount` or only `lines`."]}
        )  # fmt: skip


def _with_rate(retention: Retention) -> Any:
    """Fix the rate from the date and impose it on every line."""
    retention.retention_percent = retention_rate(
        country=retention.workspace.country_id, on=retention.date
    )

    def prepare(lines: list[Any]) -> None:
        for line in lines:
            line.retention_percent = retention.retention_percent
            line.exempt = True  # the honorarios bear no VAT

    return prepare


class RetentionFields(TypedDict, total=False):
    """What a retention's create or update may set besides its supplier, type, purchase,
    date, lines and amount (RetentionSerializer's other writable fields)."""

    note: str
    metadata: dict[str, Any]


class RetentionChanges(RetentionFields, total=False):
    """What a draft retention's update may set."""

    supplier: Supplier
    document: DocumentType
    purchase: Purchase | None
    date: date


@transaction.atomic
def retention_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    supplier: Supplier,
    date: date,
    document: DocumentType | None = None,
    purchase: Purchase | None = None,
    lines: Sequence[LineRow] | None = None,
    amount: Decimal | None = None,
    **fields: Unpack[RetentionFields],
) -> Retention:
    check_supplier(workspace, test_mode, supplier)
    document = document or default_retention_type(workspace)
    _check_type(workspace, document)
    retention = Retention(
        workspace=workspace,
        test_mode=test_mode,
        supplier=supplier,
        document=document,
        purchase=purchase,
        date=date,
        currency_id=document.currency_id,
        self_issued=True,
        **fields,
    )
    _check_purchase(retention, purchase)
    save_with_lines(
        retention,
        RetentionLine,
        "retention_document",
        _rows(lines, amount) or [],
        _with_rate(retention),
    )
    _check_amount(retention, lines, amount)
    return retention


@transaction.atomic
def retention_update(
    *,
    retention: Retention,
    lines: Sequence[LineRow] | None = None,
    amount: Decimal | None = None,
    **fields: Unpack[RetentionChanges],
) -> Retention:
    retention = lock_draft(retention, "retention")
    document = fields.get("document")
    if document is not None:
        _check_type(retention.workspace, document)
        retention.currency_id = document.currency_id
    supplier = fields.get("supplier")
    if supplier is not None:
        check_supplier(retention.workspace, retention.test_mode, supplier)
    for name, value in fields.items():
        setattr(retention, name, value)
    _check_purchase(retention, retention.purchase)
    save_with_lines(
        retention, RetentionLine, "retention_document", _rows(lines, amount), _with_rate(retention)
    )
    _check_amount(retention, lines, amount)
    return retention


@transaction.atomic
def retention_delete(*, retention: Retention) -> None:
    lock_draft(retention, "retention").delete()


@transaction.atomic
def retention_finalize(*, retention: Retention, now: datetime) -> Retention:
    """Freeze the amounts at the rate of the document's date and take our next number."""
    retention = (
        Retention.objects.select_for_update(of=("self",))
        .select_related("document", "supplier", "workspace")
        .get(pk=retention.pk)
    )
    finalize(
        retention,
        name="retention",
        line_model=RetentionLine,
        now=now,
        snapshot=retention_snapshot,
        prepare=_with_rate(retention),
    )
    return retention
