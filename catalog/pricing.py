"""What a plan charges for a quantity: the one pricing function invoices, subscriptions
and usage share.

`price_plan` is pure (no database, no clock) and exact: it returns the unrounded total,
computed in a decimal context wide enough that no digit is lost (an inexact step raises
instead of rounding). Rounding to the currency happens where the total lands on a
document (billing.money.round_amount, rules.md §2).

The four schemes, for a quantity q ≥ 0:
- flat: `amount × q`;
- package (`package_size` = p): `ceil(q / p) × amount`, amount being per package;
- graduated (`tiers_mode = "range"`): each unit is priced by the tier it falls in; every
  tier that holds some units adds `units × tier.amount + tier.flat_amount`;
- volume (`tiers_mode = "unit"`): all q units are priced by the tier q reaches:
  `q × tier.amount + tier.flat_amount`.
A tier covers the units above the previous tier's `up_to` up to and including its own;
the last tier has `up_to = None` and covers everything above, as Stripe's `inf` tier does.

Zero units cost nothing in every scheme, flat amounts included: Stripe charges no tier a
graduated price leaves empty, and we treat volume the same so that a customer with no
usage gets no charge (a base fee belongs in a licensed plan of its own).

A document line priced by a plan (`line_price`) shows a unit price, but a tiered or
packaged price is not a unit price times the units: the line also carries the exact
price of all its units (`gross`), which its total is rounded from, once.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, localcontext
from itertools import pairwise

from billing.choices import DiscountScheme
from catalog.choices import ApplyOn, TiersMode
from catalog.models import Coupon, Plan

# Stored amounts and quantities have at most 24 digits; their products and sums fit here.
_EXACT = Context(prec=200, traps=[Inexact])
# The unit price a line shows: the stored precision of an amount.
_UNIT_PRICE = Decimal("0.000001")


@dataclass(frozen=True)
class Tier:
    up_to: int | None
    amount: Decimal = Decimal(0)
    flat_amount: Decimal = Decimal(0)


def tiers_errors(tiers: Sequence[Tier]) -> list[str]:
    """Why a list of tiers cannot price a plan; empty when it can."""
    if not tiers:
        return ["At least one tier is required."]
    errors = []
    bounds = [tier.up_to for tier in tiers]
    if any(bound is None for bound in bounds[:-1]):
        errors.append("Only the last tier may have no up_to.")
    if bounds[-1] is not None:
        errors.append("The last tier must have up_to null: it prices every unit above.")
    finite = [bound for bound in bounds if bound is not None]
    if any(bound < 1 for bound in finite):
        errors.append("up_to must be at least 1.")
    if any(later <= earlier for earlier, later in pairwise(finite)):
        errors.append("up_to must increase from one tier to the next.")
    if any(tier.amount < 0 or tier.flat_amount < 0 for tier in tiers):
        errors.append("Tier amounts cannot be negative.")
    return errors


def price_plan(
    *,
    amount: Decimal,
    quantity: Decimal,
    tiers: Sequence[Tier] | None = None,
    tiers_mode: str | None = None,
    package_size: int | None = None,
) -> Decimal:
    """The exact, unrounded total for `quantity` units (see the module's docstring)."""
    quantity = Decimal(quantity)
    if not quantity.is_finite() or quantity < 0:
        raise ValueError(f"quantity must be a finite number ≥ 0, not {quantity}")
    if tiers_mode is not None and package_size is not None:
        raise ValueError("a plan is tiered or packaged, not both")
    with localcontext(_EXACT):
        if tiers_mode is None:
            if tiers:
                raise ValueError("tiers need a tiers_mode")
            if package_size is None:
                return amount * quantity
            return _packages(quantity, package_size) * amount
        if tiers_mode not in TiersMode.values:
            raise ValueError(f"unknown tiers_mode {tiers_mode!r}")
        tiers = list(tiers or [])
        if errors := tiers_errors(tiers):
            raise ValueError(" ".join(errors))
        if quantity == 0:
            return Decimal(0)
        if tiers_mode == TiersMode.RANGE:
            return sum(
                (units * tier.amount + tier.flat_amount for tier, units in _fill(tiers, quantity)),
                Decimal(0),
            )
        tier = _reached(tiers, quantity)
        return quantity * tier.amount + tier.flat_amount


def _packages(quantity: Decimal, package_size: int) -> Decimal:
    """Whole packages holding `quantity` units: the quotient, plus one for a remainder."""
    if package_size < 1:
        raise ValueError("package_size must be at least 1")
    whole, rest = divmod(quantity, package_size)
    return whole + (1 if rest else 0)


def _fill(tiers: Sequence[Tier], quantity: Decimal) -> Iterator[tuple[Tier, Decimal]]:
    """Each tier that holds some of `quantity`'s units, with how many (graduated)."""
    lower = Decimal(0)
    for tier in tiers:
        upper = quantity if tier.up_to is None else min(quantity, Decimal(tier.up_to))
        if upper <= lower:
            return
        yield tier, upper - lower
        lower = upper


def _reached(tiers: Sequence[Tier], quantity: Decimal) -> Tier:
    """The first tier whose upper bound holds `quantity` (volume); the last has none."""
    return next(tier for tier in tiers if tier.up_to is None or quantity <= tier.up_to)


def plan_tiers(plan: "Plan") -> list[Tier]:
    """A stored plan's tiers, in order (use a queryset that prefetches `tiers`)."""
    return [Tier(t.up_to, t.amount, t.flat_amount) for t in plan.tiers.all()]


@dataclass(frozen=True)
class LinePrice:
    """What a document line priced by a plan carries for `quantity` units."""

    amount: Decimal  # the unit price shown: the plan's, or the average over the units
    gross: Decimal | None  # the exact price of all the units; None when amount × quantity


def line_price(
    *,
    amount: Decimal,
    quantity: Decimal,
    tiers: Sequence[Tier] | None = None,
    tiers_mode: str | None = None,
    package_size: int | None = None,
) -> LinePrice:
    """The line for `quantity` units of a price (`price_plan`'s arguments).

    A flat price is its amount per unit. A tiered or packaged one shows the average unit
    price to six decimals, which cannot give the total back (999 999 units of a graduated
    price of 5041.995 average 0.005042000…, and 0.005042 × 999 999 = 5041.994958), so
    the exact price travels with the line as its gross.
    """
    if tiers_mode is None and package_size is None:
        return LinePrice(amount=Decimal(amount), gross=None)
    gross = price_plan(
        amount=amount,
        quantity=quantity,
        tiers=tiers,
        tiers_mode=tiers_mode,
        package_size=package_size,
    )
    if quantity == 0:
        return LinePrice(amount=Decimal(0), gross=gross)
    with localcontext(prec=200):
        average = (gross / quantity).quantize(_UNIT_PRICE, rounding=ROUND_HALF_UP)
    return LinePrice(amount=average, gross=gross)


def plan_line_price(*, plan: "Plan", quantity: Decimal) -> LinePrice:
    """`line_price` for a stored plan (use a queryset that prefetches `tiers`). A plan
    without a tiers mode has no tiers to read, so a flat plan costs no query."""
    return line_price(
        amount=plan.amount,
        quantity=quantity,
        tiers=plan_tiers(plan) if plan.tiers_mode is not None else None,
        tiers_mode=plan.tiers_mode,
        package_size=plan.package_size,
    )


def coupon_on_lines(coupon: Coupon | None) -> Coupon | None:
    """The coupon when it comes off each line (`apply_on: "line"`), else None: then it is
    the document's discount, off the whole."""
    return coupon if coupon is not None and coupon.apply_on == ApplyOn.LINE else None


def coupon_line_discount(coupon: Coupon, gross: Decimal) -> tuple[Decimal, str]:
    """The `discount` and `discount_scheme` a coupon that comes off each line gives a line
    whose units cost `gross`: its percent, or its amount up to the line's price, so a line
    never goes below zero. Orders and subscriptions' invoices both take it from here."""
    if coupon.discount_scheme == DiscountScheme.PERCENT:
        return Decimal(coupon.amount), DiscountScheme.PERCENT
    return min(Decimal(coupon.amount), gross), DiscountScheme.AMOUNT
