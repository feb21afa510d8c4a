"""Catalog writes. Each is atomic; rules across fields are checked here and answer
field errors (InvalidInput), state changes follow CATALOG_TRANSITIONS (DomainError).

A catalog object other objects point at (a product's plans, and later subscription and
invoice lines) is protected by the database: deleting it is refused with a 409 and the
answer is to archive it. The apps above the catalog tell it who else holds a plan, add-on
or coupon (`catalog_holders_register`): a live subscription bills with its price, so the
fields that price it do not change under one; an open order names it by id only, which
the database does not protect, so it is not deleted under one.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, TypeVar, Unpack

from django.db import IntegrityError, models, transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Country, Currency, Workspace
from billing.money import minor_units
from catalog.choices import (
    CATALOG_TRANSITIONS,
    ApplyScheme,
    CatalogStatus,
    DiscountScheme,
    DurationScheme,
    UsageAggregation,
    UsageScheme,
)
from catalog.models import AddOn, Coupon, Plan, PlanTier, Product, Tax
from catalog.pricing import Tier, plan_tiers, tiers_errors

Archivable = TypeVar("Archivable", Product, Plan, AddOn, Coupon)
Deletable = Product | Plan | AddOn | Coupon | Tax


def _set(instance: Any, fields: Mapping[str, object]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)


def _transition(obj: Archivable, target: CatalogStatus, kind: str, **changes: Any) -> Archivable:
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    if (obj.status, target) not in CATALOG_TRANSITIONS:
        raise DomainError(
            f"{kind}_invalid_transition", f"A {kind} that is {obj.status} cannot become {target}."
        )
    obj.status = target
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save(update_fields=["status", "updated_at", *changes])
    return obj


# holder(obj) → one holder of a plan, add-on or coupon ("subscription sub_…"), or None.
Holder = Callable[[Any], str | None]
_price_holders: dict[str, Holder] = {}
_id_holders: dict[str, Holder] = {}

# What prices each kind: what a holder of its price keeps it from changing.
_PRICING_FIELDS = {
    "plan": (
        "frequency", "currency", "amount", "exempt", "usage_scheme", "usage_aggregation",
        "tiers_mode", "package_size", "meter_id",
    ),
    "addon": ("currency", "amount", "apply_scheme", "duration_times"),
    "coupon": (
        "discount_scheme", "amount", "currency", "apply_on", "duration_scheme", "duration_times",
    ),
}  # fmt: skip


def catalog_holders_register(name: str, holder: Holder, *, holds_price: bool) -> None:
    """Called by an app above the catalog in its ready(): `holds_price` when it bills with
    the price of what it holds, otherwise it names what it holds by id only."""
    (_price_holders if holds_price else _id_holders)[name] = holder


def _held_by(obj: Any, holders: dict[str, Holder]) -> str | None:
    return next((held for holder in holders.values() if (held := holder(obj))), None)


def _plain(value: object) -> object:
    return value.pk if isinstance(value, models.Model) else value


def _keep_price(obj: Any, kind: str, fields: Mapping[str, object], *, tiers: bool) -> None:
    """Refuse a change of the fields that price `obj` while a holder bills with them (as
    Stripe keeps a price in use); the same values sent back are no change."""
    changed = [
        name
        for name in _PRICING_FIELDS[kind]
        if name in fields
        and _plain(fields[name]) != getattr(obj, obj._meta.get_field(name).attname)
    ]
    if tiers:
        changed.append("tiers")
    if not changed or (holder := _held_by(obj, _price_holders)) is None:
        return
    raise DomainError(
        f"{kind}_in_use",
        f"The {kind} {obj.pk} prices {holder}: its {', '.join(changed)} cannot change. "
        f"Create a new {kind} for the new price.",
    )


def _delete(obj: Deletable, kind: str) -> None:
    if (holder := _held_by(obj, _id_holders)) is not None:
        raise DomainError(
            f"{kind}_in_use",
            f"This {kind} is named by {holder}; it can be deleted once the order is "
            "invoiced or deleted.",
        )
    try:
        with transaction.atomic():
            obj.delete()
    except IntegrityError as exc:  # ProtectedError is one
        raise DomainError(
            f"{kind}_in_use",
            f"This {kind} is in use and cannot be deleted; archive it instead.",
        ) from exc


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise InvalidInput(errors)


def _same_tenant(workspace_id: str, test_mode: bool, other: Any) -> bool:
    return bool(other.workspace_id == workspace_id and other.test_mode == test_mode)


# Products


class ProductFields(TypedDict, total=False):
    """What a product's create or update may set (ProductSerializer's writable fields)."""

    name: str
    unit_label: str
    code: str
    sku: str
    description: str
    metadata: dict[str, Any]


@transaction.atomic
def product_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[ProductFields]
) -> Product:
    return Product.objects.create(workspace=workspace, test_mode=test_mode, **fields)


@transaction.atomic
def product_update(*, product: Product, **fields: Unpack[ProductFields]) -> Product:
    product = Product.objects.select_for_update().get(pk=product.pk)
    _set(product, fields)
    product.save()
    return product


@transaction.atomic
def product_archive(*, product: Product, now: datetime) -> Product:
    return _transition(product, CatalogStatus.ARCHIVED, "product", archived_at=now)


@transaction.atomic
def product_unarchive(*, product: Product) -> Product:
    return _transition(product, CatalogStatus.ACTIVE, "product", archived_at=None)


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product without plans; plans point at it with PROTECT."""
    _delete(product, "product")


# Plans

# meter_aggregation(workspace_id=…, test_mode=…, meter_id=…) → how the tenant's meter
# counts, named as a plan's usage_aggregation when one is the same, or None when the
# tenant has no such meter. Meters belong to the metering app, a floor above; it
# registers this when ready.
MeterLookup = Callable[..., str | None]
_meter_lookup: list[MeterLookup] = []


def meter_lookup_register(lookup: MeterLookup) -> None:
    _meter_lookup[:] = [lookup]


def _meter_aggregation(plan: Plan) -> str | None:
    for lookup in _meter_lookup:
        aggregation = lookup(
            workspace_id=plan.workspace_id, test_mode=plan.test_mode, meter_id=plan.meter_id
        )
        if aggregation is not None:
            return aggregation
    return None


def plan_validate(
    plan: Plan, tiers: Sequence[Tier], *, product_changed: bool, aggregation_given: bool = False
) -> None:
    """Rules that depend on several fields; the serializer has checked each field alone.
    `aggregation_given`: the caller set usage_aggregation, which a plan with a meter does
    not count by (its meter does): any but the default must then be the meter's own."""
    errors: dict[str, list[str]] = {}
    product = plan.product
    if not _same_tenant(plan.workspace_id, plan.test_mode, product):
        errors["product"] = [f"No product {product.pk}."]
    elif product_changed and product.status == CatalogStatus.ARCHIVED:
        errors["product"] = ["The product is archived; unarchive it to add plans."]
    if plan.tiers_mode is None:
        if tiers:
            errors["tiers_mode"] = ["Set tiers_mode (range or unit) to use tiers."]
    else:
        if messages := tiers_errors(tiers):
            errors["tiers"] = messages
        if plan.package_size is not None:
            errors["package_size"] = ["A plan is tiered or packaged, not both."]
    if plan.meter_id is not None and plan.usage_scheme != UsageScheme.METERED:
        errors["meter"] = ["Only metered plans have a meter."]
    elif plan.meter_id is not None:
        aggregation = _meter_aggregation(plan)
        if aggregation is None:
            errors["meter"] = [f"No meter {plan.meter_id} in this workspace."]
        elif aggregation_given and plan.usage_aggregation not in (
            UsageAggregation.SUM,
            aggregation,
        ):
            errors["usage_aggregation"] = [
                f"This plan's usage is counted by its meter, which counts by {aggregation}; "
                "usage_aggregation counts the usage records of plans without a meter. "
                "Leave it out."
            ]
    _raise_if(errors)


def _lock_product(product: Product) -> Product:
    # Its status as of now: an archive racing with the new plan waits for it, or wins.
    return Product.objects.select_for_update().get(pk=product.pk)


def _replace_tiers(plan: Plan, tiers: Sequence[Tier]) -> None:
    PlanTier.objects.filter(plan=plan).delete()
    PlanTier.objects.bulk_create(
        PlanTier(
            plan=plan,
            position=position,
            up_to=tier.up_to,
            amount=tier.amount,
            flat_amount=tier.flat_amount,
        )
        for position, tier in enumerate(tiers)
    )


class PlanFields(TypedDict, total=False):
    """What a plan's create or update may set (PlanSerializer's writable fields but its
    tiers, which the services take apart)."""

    product: Product
    name: str
    sku: str
    description: str
    frequency: str
    currency: Currency | None
    amount: Decimal
    exempt: bool
    usage_scheme: str
    usage_aggregation: str
    tiers_mode: str | None
    package_size: int | None
    meter_id: str | None
    trial_days: int
    metadata: dict[str, Any]


@transaction.atomic
def plan_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    tiers: Sequence[Tier] = (),
    **fields: Unpack[PlanFields],
) -> Plan:
    """A plan of `product`, priced in `currency` (the workspace's when not given)."""
    values: dict[str, Any] = dict(fields)
    if values.get("currency") is None:
        values.pop("currency", None)
        values["currency_id"] = workspace.currency
    values["product"] = _lock_product(values["product"])
    plan = Plan(workspace=workspace, test_mode=test_mode, **values)
    plan_validate(
        plan, tiers, product_changed=True, aggregation_given="usage_aggregation" in fields
    )
    plan.save()
    _replace_tiers(plan, tiers)
    return plan


@transaction.atomic
def plan_update(
    *, plan: Plan, tiers: Sequence[Tier] | None = None, **fields: Unpack[PlanFields]
) -> Plan:
    """Change a plan; `tiers`, when given, replace the plan's tiers as a whole."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    new_tiers = tiers is not None and list(tiers) != plan_tiers(plan)
    _keep_price(plan, "plan", fields, tiers=new_tiers)
    product = fields.get("product")
    product_changed = product is not None and product.pk != plan.product_id
    if product is not None and product_changed:
        fields["product"] = _lock_product(product)
    _set(plan, fields)
    plan_validate(
        plan,
        plan_tiers(plan) if tiers is None else tiers,
        product_changed=product_changed,
        aggregation_given="usage_aggregation" in fields,
    )
    plan.save()
    if tiers is not None:
        _replace_tiers(plan, tiers)
    return plan


@transaction.atomic
def plan_archive(*, plan: Plan) -> Plan:
    return _transition(plan, CatalogStatus.ARCHIVED, "plan")


@transaction.atomic
def plan_unarchive(*, plan: Plan) -> Plan:
    return _transition(plan, CatalogStatus.ACTIVE, "plan")


@transaction.atomic
def plan_delete(*, plan: Plan) -> None:
    _delete(plan, "plan")


# Add-ons


def addon_validate(addon: AddOn) -> None:
    if addon.apply_scheme != ApplyScheme.RECURRING and addon.duration_times is not None:
        raise InvalidInput({"duration_times": ["Only recurring add-ons have duration_times."]})


class AddOnFields(TypedDict, total=False):
    """What an add-on's create or update may set (AddOnSerializer's writable fields)."""

    name: str
    sku: str
    description: str
    amount: Decimal
    currency: Currency | None
    apply_scheme: str
    duration_times: int | None
    metadata: dict[str, Any]


@transaction.atomic
def addon_create(*, workspace: Workspace, test_mode: bool, **fields: Unpack[AddOnFields]) -> AddOn:
    """An add-on priced in `currency` (the workspace's when not given)."""
    values: dict[str, Any] = dict(fields)
    if values.get("currency") is None:
        values.pop("currency", None)
        values["currency_id"] = workspace.currency
    addon = AddOn(workspace=workspace, test_mode=test_mode, **values)
    addon_validate(addon)
    addon.save()
    return addon


@transaction.atomic
def addon_update(*, addon: AddOn, **fields: Unpack[AddOnFields]) -> AddOn:
    addon = AddOn.objects.select_for_update().get(pk=addon.pk)
    _keep_price(addon, "addon", fields, tiers=False)
    _set(addon, fields)
    addon_validate(addon)
    addon.save()
    return addon


@transaction.atomic
def addon_archive(*, addon: AddOn) -> AddOn:
    return _transition(addon, CatalogStatus.ARCHIVED, "addon")


@transaction.atomic
def addon_unarchive(*, addon: AddOn) -> AddOn:
    return _transition(addon, CatalogStatus.ACTIVE, "addon")


@transaction.atomic
def addon_delete(*, addon: AddOn) -> None:
    _delete(addon, "addon")


# Coupons

_CODE_TAKEN = "A coupon with this code exists."


def coupon_validate(coupon: Coupon) -> None:
    errors: dict[str, list[str]] = {}
    amount: Decimal = coupon.amount
    if coupon.discount_scheme == DiscountScheme.PERCENT:
        if not 0 < amount <= 100:
            errors["amount"] = ["A percent discount is more than 0 and at most 100."]
    elif coupon.currency_id is None:
        errors["currency"] = ["Required for a $ discount."]
    elif amount <= 0:
        errors["amount"] = ["An amount discount is more than 0."]
    elif _decimal_places(amount) > minor_units(coupon.currency_id):
        places = minor_units(coupon.currency_id)
        errors["amount"] = [f"{coupon.currency_id} amounts have at most {places} decimals."]
    if coupon.duration_scheme == DurationScheme.LIMITED:
        if coupon.duration_times is None:
            errors["duration_times"] = ["Required when duration_scheme is limited."]
    elif coupon.duration_times is not None:
        errors["duration_times"] = ["Only limited coupons have duration_times."]
    if coupon.max_redemptions is not None and coupon.max_redemptions < coupon.times_redeemed:
        errors["max_redemptions"] = [
            f"The coupon was redeemed {coupon.times_redeemed} times already."
        ]
    if coupon.code is not None and _code_taken(coupon):
        errors["code"] = [_CODE_TAKEN]
    _raise_if(errors)


def _decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _code_taken(coupon: Coupon) -> bool:
    return (
        Coupon.objects.filter(
            workspace_id=coupon.workspace_id, test_mode=coupon.test_mode, code__iexact=coupon.code
        )
        .exclude(pk=coupon.pk)
        .exists()
    )


def _save_coupon(coupon: Coupon) -> None:
    try:
        with transaction.atomic():
            coupon.save()
    except IntegrityError as exc:
        # The code was taken by a concurrent request after validation looked.
        raise InvalidInput({"code": [_CODE_TAKEN]}) from exc


class CouponFields(TypedDict, total=False):
    """What a coupon's create or update may set (CouponSerializer's writable fields)."""

    name: str
    code: str | None
    amount: Decimal
    currency: Currency | None
    discount_scheme: str
    apply_on: str
    duration_scheme: str
    duration_times: int | None
    valid_until_date: date | None
    max_redemptions: int | None
    metadata: dict[str, Any]


@transaction.atomic
def coupon_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[CouponFields]
) -> Coupon:
    coupon = Coupon(workspace=workspace, test_mode=test_mode, **fields)
    coupon_validate(coupon)
    _save_coupon(coupon)
    return coupon


@transaction.atomic
def coupon_update(*, coupon: Coupon, **fields: Unpack[CouponFields]) -> Coupon:
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    _keep_price(coupon, "coupon", fields, tiers=False)
    _set(coupon, fields)
    coupon_validate(coupon)
    _save_coupon(coupon)
    return coupon


def coupon_redeem(*, coupon_id: str) -> None:
    """Count one redemption of the coupon (an order invoiced with it, a subscription
    taking it), or refuse it with 409 `coupon_exhausted` when none is left. One
    conditional UPDATE: concurrent redemptions queue on the row and each sees the count
    the one before left, so max_redemptions is never passed."""
    left = models.Q(max_redemptions__isnull=True) | models.Q(
        times_redeemed__lt=models.F("max_redemptions")
    )
    redeemed = Coupon.objects.filter(left, pk=coupon_id).update(
        times_redeemed=models.F("times_redeemed") + 1
    )
    # A coupon deleted since it was named has no count to keep.
    if not redeemed and Coupon.objects.filter(pk=coupon_id).exists():
        raise DomainError(
            "coupon_exhausted", f"The coupon {coupon_id} has been redeemed as often as it allows."
        )


@transaction.atomic
def coupon_archive(*, coupon: Coupon) -> Coupon:
    return _transition(coupon, CatalogStatus.ARCHIVED, "coupon")


@transaction.atomic
def coupon_unarchive(*, coupon: Coupon) -> Coupon:
    return _transition(coupon, CatalogStatus.ACTIVE, "coupon")


@transaction.atomic
def coupon_delete(*, coupon: Coupon) -> None:
    _delete(coupon, "coupon")


# Taxes


def tax_validate(tax: Tax) -> None:
    if tax.exempt and tax.percent != 0:
        raise InvalidInput({"percent": ["An exempt tax has percent 0."]})


class TaxFields(TypedDict, total=False):
    """What a tax's create or update may set (TaxSerializer's writable fields)."""

    name: str
    percent: Decimal
    country: Country | None
    exempt: bool
    metadata: dict[str, Any]


@transaction.atomic
def tax_create(*, workspace: Workspace, test_mode: bool, **fields: Unpack[TaxFields]) -> Tax:
    """A tax rate of `country` (the workspace's when not given)."""
    values: dict[str, Any] = dict(fields)
    if values.get("country") is None:
        values.pop("country", None)
        values["country_id"] = workspace.country_id
    tax = Tax(workspace=workspace, test_mode=test_mode, **values)
    tax_validate(tax)
    tax.save()
    return tax


@transaction.atomic
def tax_update(*, tax: Tax, **fields: Unpack[TaxFields]) -> Tax:
    tax = Tax.objects.select_for_update().get(pk=tax.pk)
    _set(tax, fields)
    tax_validate(tax)
    tax.save()
    return tax


@transaction.atomic
def tax_delete(*, tax: Tax) -> None:
    _delete(tax, "tax")
