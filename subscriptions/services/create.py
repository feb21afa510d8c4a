"""Creating a subscription and changing it (lines, add-ons, coupon, terms)."""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Unpack

from django.db import transaction

from billing.clock import workspace_today
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Workspace
from billing.services.events import event_record
from catalog.models import Coupon, Plan
from catalog.selectors import coupon_queryset, plan_queryset
from catalog.services import coupon_redeem
from customers.choices import CustomerStatus
from customers.models import Customer
from invoices.models import Invoice, Order, OrderItem
from invoices.services.invoices import check_invoice_document_type, invoice_update
from invoices.services.orders import main_invoice_type
from subscriptions.calendar import boundary_after
from subscriptions.choices import BilledKind, CollectionStatus, SubscriptionStatus
from subscriptions.models import (
    BilledPeriod,
    EndedLine,
    Subscription,
    SubscriptionAddOn,
    SubscriptionLine,
)
from subscriptions.representations import subscription_cycle_snapshot
from subscriptions.services.checks import (
    anchor_date,
    check_addons,
    check_collection,
    check_coupon,
    check_lines,
    check_source_taken,
)
from subscriptions.services.common import MAX_AHEAD, lock, record, set_next_billing, transition
from subscriptions.services.cycles import cycle_bill, fixed_clock, held_periods_bill
from subscriptions.services.inputs import AddOnInput, LineInput, SubscriptionFields
from subscriptions.services.lifecycle import cancellation_withdraw, subscription_cancel
from subscriptions.services.proration import prorate
from subscriptions.usage import is_metered

# What can still change; cancelled and finalized subscriptions are history.
_EDITABLE_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAUSED,
    SubscriptionStatus.NEEDS_ATTENTION,
)


def _coupon_id(line: LineInput) -> str | None:
    coupon = line.get("coupon")
    return coupon.id if coupon else None


def _starts(kept: Iterable[tuple[Hashable, int]]) -> dict[Hashable, list[int]]:
    """The first cycles of what a change keeps, by what it is (not its quantity)."""
    starts: dict[Hashable, list[int]] = defaultdict(list)
    for key, cycle in kept:
        starts[key].append(cycle)
    return starts


def _start(starts: dict[Hashable, list[int]], key: Hashable, new: int) -> int:
    """The first cycle of a kept line or add-on (each kept one once), or `new`."""
    cycles = starts.get(key)
    return cycles.pop(0) if cycles else new


def _line_keys(lines: Sequence[LineInput]) -> list[tuple[str, Decimal, str | None]]:
    return [(line["plan"].id, Decimal(line.get("quantity", 1)), _coupon_id(line)) for line in lines]


def _changes_what_it_bills(
    subscription: Subscription,
    lines: Sequence[LineInput] | None,
    addons: Sequence[AddOnInput] | None,
    fields: SubscriptionFields,
) -> bool:
    """The update changes its lines, add-ons or coupon (not a retrieved subscription sent
    back)."""
    if "coupon" in fields:
        coupon = fields["coupon"]
        if (coupon.id if coupon is not None else None) != subscription.coupon_id:
            return True
    if addons is not None:
        current_addons = [(a.addon_id, a.quantity) for a in subscription.addons.all()]
        wanted = [(a["addon"].id, Decimal(a.get("quantity", 1))) for a in addons]
        if wanted != current_addons:
            return True
    current = [(c.plan_id, c.quantity, c.coupon_id) for c in subscription.lines.all()]
    return lines is not None and _line_keys(lines) != current


def _store_lines(subscription: Subscription, lines: Sequence[LineInput], first_cycle: int) -> None:
    """Replace the lines; a line kept (its plan and coupon, whatever its quantity) keeps
    when its coupon started, so a change of quantity does not grant it again. The same
    lines sent back are left as they are, ids included (usage records name a line)."""
    current = list(subscription.lines.all())
    wanted = _line_keys(lines)
    if current and wanted == [(c.plan_id, c.quantity, c.coupon_id) for c in current]:
        return
    starts = _starts(((c.plan_id, c.coupon_id), c.coupon_first_cycle) for c in current)
    subscription.lines.all().delete()
    rows = []
    for position, (line, key) in enumerate(zip(lines, wanted, strict=True)):
        plan_id, quantity, coupon_id = key
        start = _start(starts, (plan_id, coupon_id), first_cycle)
        rows.append(SubscriptionLine(
            subscription=subscription, plan=line["plan"], quantity=quantity,
            coupon=line.get("coupon"), coupon_first_cycle=start, position=position,
        ))  # fmt: skip
    SubscriptionLine.objects.bulk_create(rows)


def _end_metered_lines(
    subscription: Subscription,
    before: list[SubscriptionLine],
    after: list[SubscriptionLine],
    now: datetime,
) -> None:
    """Keep the usage of the metered plans a change removes mid-period: each becomes an
    ended line, billed up to now on the next invoice. A plan that comes back in the same
    period counts the whole period again as a line, so its ended line goes."""
    start = subscription.previous_billing
    kept = {line.plan_id for line in after if is_metered(line.plan)}
    EndedLine.objects.filter(subscription=subscription, plan_id__in=kept).delete()
    if start is None:
        return  # no period billed yet: no usage is counted before the first cycle
    gone = {line.plan_id: line for line in before if is_metered(line.plan)}
    EndedLine.objects.bulk_create(
        EndedLine(
            subscription=subscription, plan_id=plan_id, coupon_id=line.coupon_id,
            coupon_first_cycle=line.coupon_first_cycle, usage_start=start, ended_at=now,
            ended_on=workspace_today(subscription.workspace, now),
        )
        for plan_id, line in gone.items()
        if plan_id not in kept
    )  # fmt: skip


def _store_addons(
    subscription: Subscription, addons: Sequence[AddOnInput], first_cycle: int
) -> None:
    """Replace the add-ons; one kept (whatever its quantity) keeps counting its cycles from
    when it started, so a change of quantity does not bill it anew."""
    starts = _starts((a.addon_id, a.first_cycle) for a in subscription.addons.all())
    subscription.addons.all().delete()
    rows = []
    for position, item in enumerate(addons):
        start = _start(starts, item["addon"].id, first_cycle)
        rows.append(SubscriptionAddOn(
            subscription=subscription, addon=item["addon"],
            quantity=Decimal(item.get("quantity", 1)), first_cycle=start, position=position,
        ))  # fmt: skip
    SubscriptionAddOn.objects.bulk_create(rows)


def _coupon_ids(subscription: Subscription) -> set[str]:
    """The coupons a saved subscription holds, on itself and on its lines."""
    on_lines = subscription.lines.exclude(coupon_id=None).values_list("coupon_id", flat=True)
    return {*on_lines, *filter(None, [subscription.coupon_id])}


def _redeem_taken(subscription: Subscription, held_before: set[str]) -> None:
    """Each coupon the subscription took now, that it did not hold before, is one
    redemption of it (a coupon on the subscription and on a line, once)."""
    for coupon_id in sorted(_coupon_ids(subscription) - held_before):
        coupon_redeem(coupon_id=coupon_id)


@transaction.atomic
def subscription_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer,
    lines: Sequence[LineInput],
    now: datetime,
    document: DocumentType | None = None,
    date_start: date | None = None,
    trial_end: date | None = None,
    billing_anchor: date | int | None = None,
    addons: Sequence[AddOnInput] = (),
    **fields: Unpack[SubscriptionFields],
) -> Subscription:
    """Create a subscription and, when it starts today, bill its first cycle at once.

    Billing starts at `trial_end` (given, or `date_start` plus the longest trial of its
    plans) or at `date_start` (default today, in the workspace's timezone). Boundaries
    follow `billing_anchor` (default: when billing starts), a date or a day of the month;
    an anchor later than that makes the first period a short one, billed prorated by day.
    """
    if customer.status == CustomerStatus.ARCHIVED:
        raise InvalidInput({"customer": ["This customer is archived."]})
    today = workspace_today(workspace, now)
    document = document or main_invoice_type(workspace)
    currency = customer.currency_id
    check_invoice_document_type(workspace, document, customer=customer, currency=currency)
    frequency = check_lines(lines, currency, today, None)
    check_addons(addons, currency)
    check_coupon("coupon", fields.get("coupon"), currency, today)
    check_source_taken(fields.get("default_source"))
    date_start = date_start or today
    if date_start < today:
        raise InvalidInput({"date_start": ["A subscription cannot start in the past."]})
    if date_start > today + MAX_AHEAD:
        raise InvalidInput({"date_start": ["A subscription starts within five years."]})
    if trial_end is None:
        trial_days = max(line["plan"].trial_days for line in lines)
        trial_end = date_start + timedelta(days=trial_days) if trial_days else None
    if trial_end is not None and not date_start <= trial_end <= date_start + MAX_AHEAD:
        raise InvalidInput({"trial_end": ["The trial ends after the start, within five years."]})
    billing_start = trial_end or date_start
    anchor = anchor_date(billing_anchor, billing_start, frequency)
    subscription = Subscription(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        document=document,
        currency_id=currency,
        frequency=frequency,
        date_start=date_start,
        trial_end=trial_end,
        billing_anchor=anchor,
        **fields,
    )
    check_collection(subscription)
    set_next_billing(subscription, billing_start)
    subscription.save()
    _store_lines(subscription, lines, first_cycle=1)
    _store_addons(subscription, addons, first_cycle=1)
    _redeem_taken(subscription, held_before=set())
    record(subscription, "created")
    if subscription.next_billing_at is not None and subscription.next_billing_at <= now:
        cycle_bill(subscription_ids=[subscription.id], clock=fixed_clock(now), wait=True)
        subscription.refresh_from_db()
    return subscription


def _check_order_names_what_exists(
    order: Order, items: Sequence[OrderItem], plans: Mapping[str, Plan], coupon: Coupon | None
) -> None:
    """The subscription bills the order's plans and coupon: one deleted since the order was
    written (before deleting them was refused while an order names them) is a 400."""
    errors = {
        f"items.{item.position}.plan": [f"Plan {item.plan_id} no longer exists."]
        for item in items
        if item.plan_id not in plans
    }
    if order.coupon_id and coupon is None:
        errors["coupon"] = [f"Coupon {order.coupon_id} no longer exists."]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def subscription_from_order(*, order: Order, invoice: Invoice) -> str:
    """Start the subscription of an order's plans as the order is invoiced (order_invoice
    calls it); returns its id.

    Its lines are the order's plans × quantities, its coupon the order's (counted from
    this first invoice), its `billing_cycles` the order's `billing_cycle`, its org unit
    the order's (so every invoice it issues names the order's branch), its document
    type the invoice's. The order's invoice bills its first period, from the invoice's
    date to the next boundary: it is recorded as that period's billed period (so no cycle
    bills the period again, G4) and collected once finalized; `next_billing` is that
    boundary. There is no trial: the order is billed now. Items without a plan are
    billed once, on the order's invoice.
    """
    today = invoice.date
    scope = {"workspace": order.workspace, "test_mode": order.test_mode}
    items = [item for item in order.items.all() if item.plan_id]
    plans = (
        plan_queryset()
        .select_related("product")
        .filter(pk__in=[item.plan_id for item in items], **scope)
        .in_bulk()
    )
    coupon = coupon_queryset().filter(pk=order.coupon_id, **scope).first()
    _check_order_names_what_exists(order, items, plans, coupon)
    lines: list[LineInput] = [
        {"plan": plans[item.plan_id], "quantity": item.quantity} for item in items
    ]
    try:
        frequency = check_lines(lines, order.currency_id, today, None)
    except InvalidInput as exc:  # e.g. a plan archived since the order was written
        raise InvalidInput(
            {key.replace("lines", "items", 1): value for key, value in exc.errors.items()}
        ) from exc
    end = boundary_after(today, frequency, today)
    subscription = Subscription(
        **scope, customer=order.customer, document=invoice.document,
        currency_id=order.currency_id, frequency=frequency, date_start=today,
        billing_anchor=today, previous_billing=today, cycles_billed=1,
        billing_cycles=order.billing_cycle, coupon=coupon, orgunit=order.orgunit,
    )  # fmt: skip
    if order.billing_cycle == 1:
        transition(subscription, SubscriptionStatus.FINALIZED)  # its one invoice is the order's
    else:
        set_next_billing(subscription, end)
    subscription.save()
    _store_lines(subscription, lines, first_cycle=1)
    invoice_update(
        invoice=invoice, period_start=today, period_end=end, subscription_id=subscription.id
    )
    BilledPeriod.objects.create(
        subscription=subscription, kind=BilledKind.CYCLE, cycle=1, period_start=today,
        period_end=end, invoice=invoice, collection_status=CollectionStatus.REVIEW,
    )  # fmt: skip
    record(subscription, "created")
    event_record(
        workspace=order.workspace, test_mode=order.test_mode, type="subscription.invoiced",
        object_id=subscription.id, data=subscription_cycle_snapshot(subscription, invoice.id),
    )  # fmt: skip
    return subscription.id


@transaction.atomic
def subscription_update(
    *,
    subscription: Subscription,
    now: datetime,
    lines: Sequence[LineInput] | None = None,
    addons: Sequence[AddOnInput] | None = None,
    **fields: Unpack[SubscriptionFields],
) -> Subscription:
    """Change a live subscription. A coupon or add-on added now applies from the next
    cycle. Changing lines mid-period prorates by day (`prorate`) when a billed period
    runs today, paused or needing attention as well as active; one that needs attention
    first bills the periods held until today at its lines, add-ons and coupon as they
    were."""
    subscription = lock(subscription)
    if subscription.status not in _EDITABLE_STATUSES:
        raise DomainError(
            "subscription_not_editable",
            f"Subscription {subscription.id} is {subscription.status}; it can no longer change.",
        )
    cancel_at_period_end = fields.pop("cancel_at_period_end", None)
    held_before = _coupon_ids(subscription)
    today = workspace_today(subscription.workspace, now)
    if subscription.status == SubscriptionStatus.NEEDS_ATTENTION and _changes_what_it_bills(
        subscription, lines, addons, fields
    ):
        # The periods held until today came due under the terms it had then: billed at
        # them, and the change prorates the period running today as for one active.
        held_periods_bill(subscription=subscription, now=now)
        if subscription.status not in _EDITABLE_STATUSES:
            raise DomainError(
                "subscription_not_editable",
                f"Subscription {subscription.id}'s held periods are its last cycles: billed, "
                "they end it, so it can no longer change. Resume or cancel it.",
            )
    next_cycle = subscription.cycles_billed + 1
    currency = subscription.currency_id
    coupon = fields.get("coupon")
    if coupon is not None and coupon.id != subscription.coupon_id:
        # Only a coupon the change brings in: the one it holds keeps applying once past
        # its valid_until or archived, and may be sent back as retrieved.
        check_coupon("coupon", coupon, currency, today)
        subscription.coupon_first_cycle = next_cycle
    billing_cycles = fields.get("billing_cycles")
    if billing_cycles is not None and billing_cycles < subscription.cycles_billed:
        raise InvalidInput(
            {"billing_cycles": [f"{subscription.cycles_billed} cycles are billed already."]}
        )
    source = fields.get("default_source")
    if source is not None and source.id != subscription.default_source_id:
        check_source_taken(source)
    for name, value in fields.items():
        setattr(subscription, name, value)
    check_collection(subscription)
    if addons is not None:
        check_addons(addons, currency, current=list(subscription.addons.all()))
        _store_addons(subscription, addons, first_cycle=next_cycle)
    if lines is not None:
        before = list(subscription.lines.select_related("plan", "plan__product"))
        check_lines(lines, currency, today, subscription.frequency, current=before)
        _store_lines(subscription, lines, first_cycle=next_cycle)
        after = list(subscription.lines.select_related("plan"))
        _end_metered_lines(subscription, before, after, now)
        # Whatever the status: a pause or a flag does not give back the period billed.
        prorate(subscription, before, after, now)
    if cancel_at_period_end is False:
        cancellation_withdraw(subscription)
    subscription.save()
    _redeem_taken(subscription, held_before)
    if cancel_at_period_end and not subscription.cancel_at_period_end:
        # As DELETE with `at_period_end`, which records the change.
        return subscription_cancel(subscription=subscription, now=now, at_period_end=True)
    record(subscription, "updated")
    return subscription
