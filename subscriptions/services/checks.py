"""Validation of what a subscription names: its document type, plans, add-ons, coupons,
collection source and billing anchor. Errors name the request's fields."""

from collections import Counter
from collections.abc import Sequence
from datetime import date

from billing.choices import DiscountScheme
from billing.errors import DomainError, InvalidInput
from catalog.choices import CatalogStatus, PlanFrequency
from catalog.models import AddOn, Coupon, Plan
from catalog.selectors import coupon_check_left, plan_unsellable
from payments.choices import SourceStatus, SourceUsage
from payments.models import Source
from payments.selectors import customer_default_source
from subscriptions.calendar import boundary, day_anchor
from subscriptions.choices import CollectionScheme
from subscriptions.models import Subscription, SubscriptionAddOn, SubscriptionLine
from subscriptions.services.inputs import AddOnInput, LineInput


def check_coupon(field: str, coupon: Coupon | None, currency: str, today: date) -> None:
    if coupon is None:
        return
    if coupon.status != CatalogStatus.ACTIVE:
        raise InvalidInput({field: [f"Coupon {coupon.id} is archived."]})
    if coupon.valid_until_date is not None and coupon.valid_until_date < today:
        raise InvalidInput({field: [f"Coupon {coupon.id} expired on {coupon.valid_until_date}."]})
    try:
        coupon_check_left(coupon)
    except DomainError as exc:
        raise InvalidInput({field: [exc.detail]}) from exc
    if coupon.discount_scheme == DiscountScheme.AMOUNT and coupon.currency_id != currency:
        raise InvalidInput(
            {field: [f"Coupon {coupon.id} takes off {coupon.currency_id}; "
                     f"this subscription bills in {currency}."]}
        )  # fmt: skip


def check_lines(
    lines: Sequence[LineInput],
    currency: str,
    today: date,
    frequency: str | None,
    current: Sequence[SubscriptionLine] = (),
) -> str:
    """The lines' common frequency, once every plan is billable in `currency`.

    A line of a plan the subscription's `current` lines hold (each once, whatever its
    quantity), and its coupon when that line held it, keep billing once archived or
    past `valid_until`: only what the lines bring in must be active and valid, so a
    subscription sent back as retrieved is accepted."""
    if not lines:
        raise InvalidInput({"lines": ["A subscription needs at least one line."]})
    held_plans = Counter(line.plan_id for line in current)
    held_coupons = {(line.plan_id, line.coupon_id) for line in current if line.coupon_id}
    frequencies = set()
    for index, line in enumerate(lines):
        plan: Plan = line["plan"]
        field = f"lines.{index}.plan"
        kept = held_plans[plan.id] > 0
        held_plans[plan.id] -= 1
        if not kept and (unsellable := plan_unsellable(plan)):
            raise InvalidInput({field: [unsellable]})
        if plan.currency_id != currency:
            raise InvalidInput(
                {field: [f"Plan {plan.id} is priced in {plan.currency_id}; this subscription "
                         f"bills in {currency}, its customer's currency."]}
            )  # fmt: skip
        coupon = line.get("coupon")
        if coupon is not None and (plan.id, coupon.id) not in held_coupons:
            check_coupon(f"lines.{index}.coupon", coupon, currency, today)
        frequencies.add(plan.frequency)
    if len(frequencies) > 1 or (frequency is not None and frequencies != {frequency}):
        expected = frequency or "one frequency"
        raise InvalidInput({"lines": [f"Every plan of a subscription bills at {expected}."]})
    return frequencies.pop()


def check_addons(
    addons: Sequence[AddOnInput], currency: str, current: Sequence[SubscriptionAddOn] = ()
) -> None:
    """Every add-on is billable in `currency`; one archived since the subscription took it
    (one of `current`, each once) keeps billing."""
    held = Counter(item.addon_id for item in current)
    for index, item in enumerate(addons):
        addon: AddOn = item["addon"]
        field = f"addons.{index}.addon"
        kept = held[addon.id] > 0
        held[addon.id] -= 1
        if not kept and addon.status != CatalogStatus.ACTIVE:
            raise InvalidInput({field: [f"Add-on {addon.id} is archived."]})
        if addon.currency_id != currency:
            raise InvalidInput(
                {field: [f"Add-on {addon.id} is priced in {addon.currency_id}; this "
                         f"subscription bills in {currency}."]}
            )  # fmt: skip


def check_collection(subscription: Subscription) -> None:
    """`charge_payment` needs a source to charge: the one given, else the customer's
    default card, taken as Stripe takes it for a subscription without its own (so a
    subscription that charges always names what it charges). It must be the customer's."""
    source = subscription.default_source
    charging = subscription.collection_scheme == CollectionScheme.CHARGE_PAYMENT
    if charging and source is None:
        source = customer_default_source(subscription.customer)
        if source is None:
            raise InvalidInput(
                {"default_source": ["Required to collect by charge_payment: the customer "
                                    "has no default card to take instead."]}
            )  # fmt: skip
        subscription.default_source = source
    if source is not None and source.customer_id != subscription.customer_id:
        raise InvalidInput(
            {"default_source": [f"Source {source.id} is not of customer "
                                f"{subscription.customer_id}."]}
        )  # fmt: skip


def check_source_taken(source: Source | None) -> None:
    """A source a change names for the subscription (not the one it holds, which may
    have been removed since: that one fails its charges and flags the subscription) is
    charged every period: a saved card, still chargeable. A single-use card is consumed
    by its first charge; Stripe's default_payment_method must be a saved card too."""
    if source is None:
        return
    if source.usage != SourceUsage.REUSABLE or source.status != SourceStatus.CHARGEABLE:
        raise InvalidInput(
            {"default_source": [f"Source {source.id} cannot be charged every period: it is "
                                f"{source.usage} and {source.status}. Name a saved card."]}
        )  # fmt: skip


def anchor_date(given: date | int | None, billing_start: date, frequency: str) -> date:
    """The date boundaries are counted from. With a day of the month, the first boundary
    is the first date on or after billing starts on that day (clamped: the 31st's in
    February is the 28th); until then runs a short first period, prorated by day, as
    with a later anchor date."""
    if given is None:
        return billing_start
    if isinstance(given, int):
        if frequency == PlanFrequency.WEEKLY:
            raise InvalidInput({"billing_anchor": ["Weekly plans are anchored on a date, "
                                                   "not a day of the month."]})  # fmt: skip
        if not 1 <= given <= 31:
            raise InvalidInput({"billing_anchor": ["A day of the month is 1 to 31."]})
        return day_anchor(billing_start, given, frequency)
    first_end = boundary(billing_start, frequency, 1)
    if not billing_start <= given < first_end:
        raise InvalidInput(
            {"billing_anchor": ["The anchor falls within the first period after billing "
                                f"starts: from {billing_start}, before {first_end}."]}
        )  # fmt: skip
    return given
