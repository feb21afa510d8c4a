"""Writes of org units, bank accounts and the biller connection."""

from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.db.models import Model

from billing.errors import DomainError, InvalidInput
from billing.models import Comuna, Currency, Workspace
from billing.tax_ids import InvalidTaxId, normalize_tax_id
from organization.choices import BillerEnvironment
from organization.models import BankAccount, Biller, OrgUnit


def _set(obj: Model, fields: Mapping[str, object]) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)


def _save_unique(obj: Model, field: str, message: str) -> None:
    """Save; a unique constraint it breaks is a 400 on `field` (the constraint decides,
    so two concurrent writes cannot both pass a check made before saving)."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise InvalidInput({field: [message]}) from exc


def _delete(obj: Model, kind: str, why: str) -> None:
    try:
        with transaction.atomic():
            obj.delete()
    except IntegrityError as exc:  # ProtectedError is one
        raise DomainError(f"{kind}_in_use", why) from exc


# Org units


class OrgUnitFields(TypedDict, total=False):
    """What an org unit's create or update may set (OrgUnitSerializer's writable fields)."""

    name: str
    address: str
    comuna: Comuna | None
    city: str
    state: str
    sii_branch_code: str
    phone: str
    email: str
    metadata: dict[str, Any]


def _check_orgunit(unit: OrgUnit) -> None:
    code = unit.sii_branch_code
    if code and not (code.isascii() and code.isdigit()):
        raise InvalidInput({"sii_branch_code": ["The SII's branch code is digits only."]})
    # The DTE states it as CdgSIISucur, a positive integer.
    if code and int(code) == 0:
        raise InvalidInput({"sii_branch_code": ["The SII's branch code is a positive number."]})


def _save_orgunit(unit: OrgUnit) -> OrgUnit:
    _check_orgunit(unit)
    _save_unique(
        unit,
        "sii_branch_code",
        f"Another org unit of this workspace has branch code {unit.sii_branch_code}.",
    )
    return unit


@transaction.atomic
def orgunit_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[OrgUnitFields]
) -> OrgUnit:
    return _save_orgunit(OrgUnit(workspace=workspace, test_mode=test_mode, **fields))


@transaction.atomic
def orgunit_update(*, orgunit: OrgUnit, **fields: Unpack[OrgUnitFields]) -> OrgUnit:
    unit = OrgUnit.objects.select_for_update().get(pk=orgunit.pk)
    _set(unit, fields)
    return _save_orgunit(unit)


@transaction.atomic
def orgunit_delete(*, orgunit: OrgUnit) -> None:
    _delete(
        orgunit,
        "orgunit",
        f"Org unit {orgunit.id} is named on contacts, documents, orders or subscriptions and "
        "is kept with them; rename it instead of deleting it.",
    )


# Bank accounts


class BankFields(TypedDict, total=False):
    """What a bank account's create or update may set (BankAccountSerializer's writable
    fields)."""

    bank_name: str
    account_type: str
    account_number: str
    holder_name: str
    holder_tax_id: str
    email: str
    currency: Currency | None
    on_documents: bool
    metadata: dict[str, Any]


def _check_bank(account: BankAccount) -> None:
    """The holder is the workspace's own company (or a person) where it banks: its tax id
    is one of the workspace's country (a Chilean RUT with its check digit), stored in the
    agency's notation."""
    if not account.holder_tax_id:
        return
    try:
        account.holder_tax_id = normalize_tax_id(
            account.workspace.country_id, account.holder_tax_id
        )
    except InvalidTaxId as exc:
        raise InvalidInput({"holder_tax_id": [str(exc)]}) from exc


def _save_bank(account: BankAccount) -> BankAccount:
    _check_bank(account)
    _save_unique(
        account,
        "account_number",
        f"Account {account.account_number} of {account.bank_name} is already recorded.",
    )
    return account


@transaction.atomic
def bank_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[BankFields]
) -> BankAccount:
    """A bank account; its currency defaults to the workspace's."""
    values: dict[str, Any] = dict(fields)
    if values.get("currency") is None:
        values.pop("currency", None)
        values["currency_id"] = workspace.currency
    return _save_bank(BankAccount(workspace=workspace, test_mode=test_mode, **values))


@transaction.atomic
def bank_update(*, bank: BankAccount, **fields: Unpack[BankFields]) -> BankAccount:
    account = BankAccount.objects.select_for_update().get(pk=bank.pk)
    _set(account, fields)
    return _save_bank(account)


@transaction.atomic
def bank_delete(*, bank: BankAccount) -> None:
    bank.delete()


# The biller connection


class BillerFields(TypedDict, total=False):
    """What the biller's create or update may set (BillerSerializer's writable fields)."""

    backend: str
    environment: str
    status: str
    settings: dict[str, Any]
    metadata: dict[str, Any]


def _check_biller(biller: Biller) -> None:
    # Test-mode documents must never reach the agency's real register.
    if biller.test_mode and biller.environment == BillerEnvironment.PRODUCTION:
        raise InvalidInput(
            {"environment": ["Test mode files with the agency's certification environment."]}
        )


@transaction.atomic
def biller_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[BillerFields]
) -> Biller:
    biller = Biller(workspace=workspace, test_mode=test_mode, **fields)
    _check_biller(biller)
    try:
        with transaction.atomic():
            biller.save()
    except IntegrityError as exc:
        raise DomainError(
            "biller_exists",
            "This workspace already has its tax-agency connection in this mode; "
            "update it (PUT /billers/built_in/{id}/) instead.",
        ) from exc
    return biller


@transaction.atomic
def biller_update(*, biller: Biller, **fields: Unpack[BillerFields]) -> Biller:
    locked = Biller.objects.select_for_update().get(pk=biller.pk)
    _set(locked, fields)
    _check_biller(locked)
    locked.save()
    return locked


@transaction.atomic
def biller_delete(*, biller: Biller) -> None:
    biller.delete()
