"""Supplier writes."""

from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction

from billing.addresses import comuna_errors
from billing.errors import DomainError, InvalidInput
from billing.models import Country, Currency, State, Workspace
from billing.tax_ids import InvalidTaxId, normalize_tax_id
from billing.tax_settings import tax_settings_errors
from procurement.models import Supplier


def supplier_validate(
    workspace: Workspace, supplier: Supplier, *, tax_settings_written: bool = True
) -> None:
    """Rules across fields: a local supplier in a regulated country carries a valid tax id
    (a Chilean RUT with its check digit), stored in the agency's notation. `tax_settings`
    is checked when written: one stored before its rules stays until it changes."""
    country = supplier.country
    errors: dict[str, list[str]] = {}
    if supplier.tax_id:
        try:
            supplier.tax_id = normalize_tax_id(country.code, supplier.tax_id)
        except InvalidTaxId as exc:
            errors["tax_id"] = [str(exc)]
    elif country.has_tax_regulation and country.code == workspace.country_id:
        errors["tax_id"] = [
            f"Required for suppliers in {country.name} ({country.tax_id_name or 'tax id'})."
        ]
    if tax_settings_written:
        errors |= tax_settings_errors(supplier.tax_settings)
    if supplier.state is not None and supplier.state.country_id != country.code:
        errors["state"] = [f"State {supplier.state.code} is not in {country.code}."]
    else:
        errors |= comuna_errors(supplier)
    if errors:
        raise InvalidInput(errors)


class SupplierFields(TypedDict, total=False):
    """What a supplier's create or update may set (SupplierSerializer's writable fields)."""

    name: str
    country: Country
    state: State | None
    currency: Currency | None
    tax_id: str
    address: str
    email: str
    phone: str
    website: str
    tax_settings: dict[str, Any]
    metadata: dict[str, Any]


@transaction.atomic
def supplier_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[SupplierFields]
) -> Supplier:
    if fields.get("currency") is None:
        fields["currency"] = fields["country"].currency
    supplier = Supplier(workspace=workspace, test_mode=test_mode, **fields)
    supplier_validate(workspace, supplier)
    supplier.save()
    return supplier


@transaction.atomic
def supplier_update(*, supplier: Supplier, **fields: Unpack[SupplierFields]) -> Supplier:
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    for name, value in fields.items():
        setattr(supplier, name, value)
    supplier_validate(supplier.workspace, supplier, tax_settings_written="tax_settings" in fields)
    supplier.save()
    return supplier


@transaction.atomic
def supplier_delete(*, supplier: Supplier) -> None:
    # Documents reference suppliers with PROTECT: the database refuses while any exist.
    try:
        with transaction.atomic():
            supplier.delete()
    except IntegrityError as exc:
        raise DomainError(
            "supplier_has_documents", "This supplier has documents and cannot be deleted."
        ) from exc
