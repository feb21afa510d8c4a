"""Purchases: documents received from suppliers, or issued by us for them (46)."""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import transaction
from django.db.models import Max

from billing.documents import LineRow, ReferenceRow, base_tax_percent, check_document_currency
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Workspace
from billing.services.numbering import number_give_back
from procurement.models import Purchase, PurchaseLine, Supplier
from procurement.representations import purchase_snapshot
from procurement.services.documents import (
    check_supplier,
    check_type_country,
    finalize,
    lock_draft,
    save_with_lines,
    settle_number,
)


def is_withholding_type(document_type: DocumentType) -> bool:
    """A boleta de honorarios: it holds taxes and bears none (a retention, not a purchase)."""
    return document_type.hold_taxes and not document_type.has_taxes


def is_self_issued(document_type: DocumentType) -> bool:
    # The buyer issues the documents that withhold taxes (46 factura de compra, BTE), so
    # the buyer numbers them.
    return document_type.hold_taxes


def check_purchase_type(workspace: Workspace, document_type: DocumentType) -> None:
    is_purchase_type = (
        document_type.is_purchase
        and not (document_type.is_credit_note or document_type.is_debit_note)
        and not is_withholding_type(document_type)
    )
    if not is_purchase_type:
        raise InvalidInput({"document": [f"{document_type} is not a purchase document type."]})
    check_type_country(workspace, document_type)


def _set_document(purchase: Purchase, document_type: DocumentType) -> None:
    check_purchase_type(purchase.workspace, document_type)
    purchase.document = document_type
    purchase.tax_percent = base_tax_percent(document_type)
    purchase.self_issued = is_self_issued(document_type)


class PurchaseFields(TypedDict, total=False):
    """What a purchase's create or update may set besides its supplier, type, date and
    lines (PurchaseSerializer's other writable fields)."""

    number: int | None
    due_date: date | None
    note: str
    references: list[ReferenceRow]
    discount: Decimal
    discount_scheme: str
    custom_change: Decimal
    imported: bool
    metadata: dict[str, Any]


class PurchaseChanges(PurchaseFields, total=False):
    """What a draft purchase's update may set."""

    supplier: Supplier
    document: DocumentType
    date: date


def _check_currency(purchase: Purchase) -> None:
    """A purchase is in its supplier's currency, which its type must allow (as an
    invoice in its customer's)."""
    check_document_currency(
        purchase.document,
        purchase.currency_id,
        instead=f"Supplier {purchase.supplier_id} is billed in {purchase.currency_id}: "
        "set its currency to the type's to record this purchase.",
    )


def _check_no_retention_pays(purchase: Purchase) -> None:
    # A retention pays a purchase of its own supplier (retentions._check_purchase): the
    # purchase keeps that supplier while one links to it.
    retention_ids = sorted(purchase.retentions.values_list("id", flat=True))
    if retention_ids:
        raise InvalidInput(
            {"supplier": [f"Retention {', '.join(retention_ids)} pays this purchase to its "
                          "supplier; the purchase keeps that supplier while it is linked."]}
        )  # fmt: skip


def _imported_folio(purchase: Purchase) -> tuple[DocumentType, int] | None:
    """The folio of our own sequence an imported draft holds (settle_number moved the
    sequence past it)."""
    if purchase.imported and purchase.self_issued and purchase.number is not None:
        return purchase.document, purchase.number
    return None


def _give_back(purchase: Purchase, document_type: DocumentType, number: int) -> None:
    """A folio the draft held and no longer does (mistyped, deleted) is withdrawn from
    our sequence: a typo in an import must not make our next numbers jump."""
    highest = Purchase.objects.filter(
        workspace=purchase.workspace,
        test_mode=purchase.test_mode,
        document=document_type,
        self_issued=True,
    ).aggregate(highest=Max("number"))["highest"]
    number_give_back(
        workspace=purchase.workspace,
        test_mode=purchase.test_mode,
        document_type=document_type,
        number=number,
        highest_kept=highest or 0,
    )


@transaction.atomic
def purchase_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    supplier: Supplier,
    document: DocumentType,
    date: date,
    lines: Sequence[LineRow] = (),
    **fields: Unpack[PurchaseFields],
) -> Purchase:
    check_supplier(workspace, test_mode, supplier)
    purchase = Purchase(
        workspace=workspace,
        test_mode=test_mode,
        supplier=supplier,
        date=date,
        currency_id=supplier.currency_id,
        **fields,
    )
    _set_document(purchase, document)
    _check_currency(purchase)
    settle_number(purchase, imported=purchase.imported)
    save_with_lines(purchase, PurchaseLine, "purchase", lines)
    return purchase


@transaction.atomic
def purchase_update(
    *,
    purchase: Purchase,
    lines: Sequence[LineRow] | None = None,
    **fields: Unpack[PurchaseChanges],
) -> Purchase:
    purchase = lock_draft(purchase, "purchase")
    held = _imported_folio(purchase)
    document_type = fields.pop("document", None)
    if document_type is not None:
        _set_document(purchase, document_type)
    supplier = fields.get("supplier")
    if supplier is not None:
        check_supplier(purchase.workspace, purchase.test_mode, supplier)
        if supplier.pk != purchase.supplier_id:
            _check_no_retention_pays(purchase)
        purchase.currency_id = supplier.currency_id
    for name, value in fields.items():
        setattr(purchase, name, value)
    _check_currency(purchase)
    settle_number(purchase, imported=purchase.imported)
    save_with_lines(purchase, PurchaseLine, "purchase", lines)
    if held is not None and held != _imported_folio(purchase):
        _give_back(purchase, *held)
    return purchase


@transaction.atomic
def purchase_delete(*, purchase: Purchase) -> None:
    purchase = lock_draft(purchase, "purchase")
    # A retention's link to its purchase is part of that document (and of what was filed
    # once it is finalized), so the purchase stays while one points to it.
    retention_ids = sorted(purchase.retentions.values_list("id", flat=True))
    if retention_ids:
        raise DomainError(
            "purchase_has_retentions",
            f"Purchase {purchase.id} is linked from retention {', '.join(retention_ids)}; "
            "it is kept while a retention refers to it.",
        )
    held = _imported_folio(purchase)
    purchase.delete()
    if held is not None:
        _give_back(purchase, *held)


@transaction.atomic
def purchase_finalize(*, purchase: Purchase, now: datetime) -> Purchase:
    """Freeze the totals; a self-issued purchase (46) takes the next of our numbers, an
    imported one is recorded as already reported to the tax agency."""
    purchase = (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("document", "supplier", "workspace")
        .get(pk=purchase.pk)
    )
    # A draft written before the rule existed meets it here, before it takes a number.
    _check_currency(purchase)
    finalize(
        purchase,
        name="purchase",
        line_model=PurchaseLine,
        now=now,
        snapshot=purchase_snapshot,
        imported=purchase.imported,
    )
    return purchase
