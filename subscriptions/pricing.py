"""What one cycle of a subscription bills: the invoice draft for a period.

Pure over loaded objects (the subscription with its lines' plans and tiers, coupons,
add-ons, document type and workspace): no queries, no clock, so a batch of thousands
is priced in memory. Prices come from catalog.pricing and totals from
billing.documents.apply_totals, the code every invoice uses.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, TypedDict, cast

from django.db.models import ForeignKey, Model

from billing.bulk import Blank
from billing.choices import DiscountScheme
from billing.documents import (
    LineRow,
    apply_totals,
    base_tax_percent,
    build_lines,
    discount_base,
)
from billing.errors import DomainError
from billing.money import QUANTITY_LIMIT, QUANTITY_MAX_DIGITS
from catalog.choices import ApplyOn, ApplyScheme, DurationScheme, UsageScheme
from catalog.models import AddOn, Coupon, Plan
from catalog.pricing import coupon_line_discount, coupon_on_lines, plan_line_price
from invoices.choices import CollectionMethod, LineType
from invoices.models import Invoice, InvoiceLine
from invoices.services.batch import InvoiceDraft
from subscriptions.calendar import period_containing
from subscriptions.choices import CollectionScheme
from subscriptions.models import EndedLine, Subscription, SubscriptionAddOn, SubscriptionLine
from subscriptions.usage import usage_key

UNIT_PRICE = Decimal("0.000001")
# A cycle makes thousands of draft invoices (billing.bulk.Blank).
_INVOICE = Blank(Invoice)
_CUSTOMER = cast(ForeignKey, Subscription._meta.get_field("customer"))
# A prorated gross keeps the fifteen decimals a line's gross stores (billing.models.Line).
PRORATED_GROSS = Decimal("1E-15")


class LinePrice(TypedDict):
    """A line's unit price, and its exact price when that is not amount × quantity."""

    amount: Decimal
    gross: Decimal | None


def invoice_references(references: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A subscription's references as its invoices cite them: the SII's fields only."""
    return [{k: v for k, v in row.items() if k != "date_end"} for row in references]


def plan_price(plan: Plan, quantity: Decimal, fraction: tuple[int, int] | None = None) -> LinePrice:
    """A line's `amount` and `gross` (catalog.pricing.line_price) for `quantity` units of
    `plan`, prorated by `fraction` = (days, period days) when given.

    A prorated line carries its exact price, so that its total is the full price times
    the days, rounded once, and not a rounded unit price times the units.
    """
    price = plan_line_price(plan=plan, quantity=quantity)
    if fraction is None:
        return {"amount": price.amount, "gross": price.gross}
    days, period_days = fraction
    gross = price.amount * quantity if price.gross is None else price.gross
    return {
        "amount": prorated(price.amount, days, period_days),
        "gross": prorated(gross, days, period_days, quantum=PRORATED_GROSS),
    }


def prorated(
    amount: Decimal, days: int, period_days: int, *, quantum: Decimal = UNIT_PRICE
) -> Decimal:
    """`amount` × days / period_days, half-up to `quantum` (a unit price's six decimals, or
    a gross's fifteen)."""
    with localcontext(prec=80):
        return (amount * days / period_days).quantize(quantum, rounding=ROUND_HALF_UP)


def coupon_applies(coupon: Coupon, first_cycle: int, cycle: int) -> bool:
    if cycle < first_cycle:
        return False
    if coupon.duration_scheme == DurationScheme.ONE_TIME:
        return cycle == first_cycle
    if coupon.duration_scheme == DurationScheme.LIMITED:
        return cycle < first_cycle + (coupon.duration_times or 0)
    return True


def addon_applies(addon: AddOn, first_cycle: int, cycle: int) -> bool:
    if cycle < first_cycle:
        return False
    if addon.apply_scheme == ApplyScheme.ONE_TIME:
        return cycle == first_cycle
    return addon.duration_times is None or cycle < first_cycle + addon.duration_times


def period_text(start: date, end: date) -> str:
    """The days a half-open period [start, end) covers, both ends included."""
    return f"{start.isoformat()} – {(end - timedelta(days=1)).isoformat()}"


def _with_coupon(row: LineRow, coupon: Coupon | None) -> LineRow:
    if coupon is None:
        return row
    exact = row.get("gross")
    gross = row["amount"] * row["quantity"] if exact is None else exact
    discount, scheme = coupon_line_discount(coupon, gross)
    return {**row, "discount": discount, "discount_scheme": scheme}


def _plan_row(line: SubscriptionLine, fraction: tuple[int, int] | None, text: str) -> LineRow:
    plan = line.plan
    description = text
    if fraction is not None:
        description = f"{text} (prorated {fraction[0]}/{fraction[1]} days)"
    product = getattr(plan, "product", None)
    return {
        "name": plan.name,
        "description": description,
        "quantity": line.quantity,
        **plan_price(plan, line.quantity, fraction),
        "exempt": plan.exempt,
        "plan_id": plan.id,
        "code": plan.sku,
        "unit_label": product.unit_label if product is not None else "",
    }


def _usage_row(line: SubscriptionLine | EndedLine, quantity: Decimal, text: str) -> LineRow:
    """A metered line's usage over a closed period; negative usage bills nothing."""
    plan = line.plan
    # A line stores six decimals of quantity: the usage is rounded there, half-up, and
    # priced as rounded, so the line's total is its quantity's price.
    if quantity < QUANTITY_LIMIT:  # else its six decimals have more digits than the context
        with localcontext(prec=QUANTITY_MAX_DIGITS + 1):
            quantity = max(quantity, Decimal(0)).quantize(UNIT_PRICE, rounding=ROUND_HALF_UP)
    if quantity >= QUANTITY_LIMIT:
        raise DomainError(
            "usage_out_of_range",
            f"The usage of {plan.name} ({plan.pk}) over {text} is {quantity:.3e} units: an "
            f"invoice line holds less than 10^{QUANTITY_LIMIT.adjusted()}. Check the events "
            "its meter counts.",
        )
    product = getattr(plan, "product", None)
    return {
        "name": f"{plan.name} (usage)",
        "description": text,
        "quantity": quantity,
        **plan_price(plan, quantity),
        "exempt": plan.exempt,
        "plan_id": plan.id,
        "line_type": LineType.USAGE,
        "code": plan.sku,
        "unit_label": product.unit_label if product is not None else "",
    }


def _addon_row(item: SubscriptionAddOn) -> LineRow:
    addon = item.addon
    return {
        "name": addon.name,
        "description": addon.description,
        "quantity": item.quantity,
        "amount": Decimal(addon.amount),
        "code": addon.sku,
    }


def _coupons(subscription: Subscription, cycle: int) -> tuple[Coupon | None, Coupon | None]:
    """The subscription's coupon on cycle `cycle`, and the same when it applies per line."""
    coupon = subscription.coupon
    if coupon is not None and not coupon_applies(coupon, subscription.coupon_first_cycle, cycle):
        coupon = None
    return coupon, coupon_on_lines(coupon)


def _line_coupon(line: SubscriptionLine | EndedLine, cycle: int) -> Coupon | None:
    own = line.coupon
    return own if own is not None and coupon_applies(own, line.coupon_first_cycle, cycle) else None


def cycle_draft(
    subscription: Subscription,
    *,
    lines: list[SubscriptionLine],
    addons: list[SubscriptionAddOn],
    period_start: date,
    period_end: date,
    cycle: int,
    invoice_date: date,
    usage: dict[str, Decimal] | None = None,
    usage_start: date | None = None,
    ended: Sequence[EndedLine] = (),
    invoice_id: str | None = None,
) -> InvoiceDraft:
    """The invoice of cycle number `cycle`, for [period_start, period_end), with the id
    `invoice_id` (made in bulk by a batch) or a new one.

    A period shorter than the frequency's (the stretch before a later billing anchor)
    bills its plans prorated by day. Metered lines bill in arrears: the usage of
    [usage_start, period_start) (`usage`, by usage_key), priced by the plan's tiers, and
    nothing on the first cycle, which follows no period; so do the `ended` lines, removed
    during that period, up to their removal.
    """
    full_start, full_end = period_containing(
        subscription.billing_anchor, subscription.frequency, period_end - timedelta(days=1)
    )
    fraction = None
    if (period_start, period_end) != (full_start, full_end):
        fraction = ((period_end - period_start).days, (full_end - full_start).days)
    text = period_text(period_start, period_end)
    coupon, line_wide = _coupons(subscription, cycle)
    rows: list[LineRow] = []
    for line in lines:
        own = _line_coupon(line, cycle)
        if line.plan.usage_scheme != UsageScheme.METERED:
            rows.append(_with_coupon(_plan_row(line, fraction, text), own or line_wide))
        elif usage_start is not None:
            quantity = (usage or {}).get(usage_key(line), Decimal(0))
            row = _usage_row(line, quantity, period_text(usage_start, period_start))
            rows.append(_with_coupon(row, own or line_wide))
    if usage_start is not None:
        rows += _ended_rows(ended, usage or {}, cycle, line_wide)
    rows += [_addon_row(a) for a in addons if addon_applies(a.addon, a.first_cycle, cycle)]
    return _draft(subscription, rows, coupon, period_start, period_end, invoice_date, invoice_id)


def _ended_rows(
    ended: Sequence[EndedLine], usage: dict[str, Decimal], cycle: int, line_wide: Coupon | None
) -> list[LineRow]:
    """The usage of lines removed mid-period, from the period's start to their removal."""
    rows = []
    for line in ended:
        text = period_text(line.usage_start, line.ended_on + timedelta(days=1))
        row = _usage_row(line, usage.get(usage_key(line), Decimal(0)), text)
        rows.append(_with_coupon(row, _line_coupon(line, cycle) or line_wide))
    return rows


def final_usage_draft(
    subscription: Subscription,
    *,
    lines: list[SubscriptionLine],
    usage: dict[str, Decimal],
    usage_start: date,
    usage_end: date,
    invoice_date: date,
    ended: Sequence[EndedLine] = (),
    invoice_id: str | None = None,
) -> InvoiceDraft:
    """The last invoice of a cancelled subscription: its metered lines' usage over
    [usage_start, usage_end), the part of the last period it ran, with the coupons the
    next cycle would have applied. Nothing else: the fixed lines were billed ahead."""
    cycle = subscription.cycles_billed + 1
    coupon, line_wide = _coupons(subscription, cycle)
    text = period_text(usage_start, usage_end)
    rows: list[LineRow] = []
    for line in lines:
        if line.plan.usage_scheme != UsageScheme.METERED:
            continue
        own = _line_coupon(line, cycle)
        row = _usage_row(line, usage.get(usage_key(line), Decimal(0)), text)
        rows.append(_with_coupon(row, own or line_wide))
    rows += _ended_rows(ended, usage, cycle, line_wide)
    return _draft(subscription, rows, coupon, usage_start, usage_end, invoice_date, invoice_id)


def _draft(
    subscription: Subscription,
    rows: list[LineRow],
    coupon: Coupon | None,
    period_start: date,
    period_end: date,
    invoice_date: date,
    invoice_id: str | None,
) -> InvoiceDraft:
    # The customer goes on as its key when the subscription was loaded without it (a
    # cycle's batch: nothing it writes reads more of the customer than its key).
    customer = _CUSTOMER.get_cached_value(subscription, None)
    related: dict[str, Model] = {"document": subscription.document}
    invoice = _INVOICE.make(
        related=related if customer is None else {**related, "customer": customer},
        customer_id=subscription.customer_id,
        **({} if invoice_id is None else {"id": invoice_id}),
        date=invoice_date,
        due_date=invoice_date + timedelta(days=subscription.expiration_days),
        currency_id=subscription.currency_id,
        tax_percent=base_tax_percent(subscription.document),
        period_start=period_start,
        period_end=period_end,
        subscription_id=subscription.id,
        orgunit_id=subscription.orgunit_id,
        custom_change=subscription.custom_change,
        note=subscription.note,
        references=invoice_references(subscription.references),
        collection_method=CollectionMethod.AUTOMATICALLY
        if subscription.collection_scheme == CollectionScheme.CHARGE_PAYMENT
        else CollectionMethod.DEFERRED,
    )
    if coupon is not None and coupon.apply_on == ApplyOn.INVOICE:
        invoice.discount_scheme = coupon.discount_scheme
        invoice.discount = coupon.amount
        if coupon.discount_scheme == DiscountScheme.AMOUNT:
            invoice.discount = min(coupon.amount, _discount_base(invoice, rows))
    return InvoiceDraft(invoice=invoice, lines=rows)


def _discount_base(invoice: Invoice, rows: list[LineRow]) -> Decimal:
    shadow = Invoice(
        document=invoice.document,
        currency_id=invoice.currency_id,
        tax_percent=invoice.tax_percent,
        custom_change=invoice.custom_change,
    )
    lines = build_lines(InvoiceLine, {}, rows)
    apply_totals(shadow, lines)
    return discount_base(lines)
