"""Subscription writes: create, change (with proration), pause, resume, cancel, process.

Every service is atomic, takes `now` from its caller (billing.clock for the tenant) and
records its event. Billing itself is cycles.py's; collection is collection.py's.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Workspace
from billing.services.events import event_record
from catalog.choices import CatalogStatus, PlanFrequency, UsageScheme
from catalog.models import AddOn, Coupon, Plan
from customers.choices import CustomerStatus
from customers.models import Customer
from invoices.choices import DiscountScheme, InvoiceStatus
from invoices.notes import credit_note_create, note_finalize
from invoices.orders import main_invoice_type
from invoices.services import invoice_create, invoice_finalize
from subscriptions.calendar import (
    boundary,
    boundary_on_or_after,
    day_anchor,
    local_date,
    local_midnight,
)
from subscriptions.choices import (
    SUBSCRIPTION_TRANSITIONS,
    BilledKind,
    CancelReason,
    CollectionScheme,
    CollectionStatus,
    NeedsAttentionReason,
    PausedReason,
    SubscriptionStatus,
)
from subscriptions.cycles import cycle_bill, fixed_clock, queue_collection
from subscriptions.models import BilledPeriod, Subscription, SubscriptionAddOn, SubscriptionLine
from subscriptions.pricing import period_text, prorated, unit_price
from subscriptions.snapshots import subscription_snapshot

# How far ahead a subscription may start: further is almost certainly a typo.
MAX_START_AHEAD = timedelta(days=5 * 366)
# What can still change; cancelled and finalized subscriptions are history.
_EDITABLE_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAUSED,
    SubscriptionStatus.NEEDS_ATTENTION,
)


def _record(subscription: Subscription, verb: str) -> None:
    event_record(
        workspace=subscription.workspace,
        test_mode=subscription.test_mode,
        type=f"subscription.{verb}",
        object_id=subscription.id,
        data=subscription_snapshot(subscription),
    )


def _transition(subscription: Subscription, target: SubscriptionStatus) -> None:
    if (subscription.status, target) not in SUBSCRIPTION_TRANSITIONS:
        raise DomainError(
            "subscription_invalid_transition",
            f"Subscription {subscription.id} is {subscription.status} and cannot become {target}.",
        )
    subscription.status = target


def _lock(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("workspace", "document", "customer", "coupon")
        .get(pk=subscription.pk)
    )


def _today(workspace: Workspace, now: datetime) -> date:
    return local_date(now, workspace.timezone)


# Validation of what a subscription names


def _check_document(workspace: Workspace, document: DocumentType) -> None:
    is_invoice_type = document.is_sale and not (
        document.is_credit_note or document.is_debit_note or document.is_order
    )
    if not is_invoice_type or not document.is_electronic:
        raise InvalidInput({"document": [f"{document} is not an invoice document type."]})
    if document.country_id != workspace.country_id:
        raise InvalidInput(
            {"document": [f"{document} belongs to {document.country_id}, "
                          f"the workspace to {workspace.country_id}."]}
        )  # fmt: skip


def _check_coupon(field: str, coupon: Coupon | None, currency: str, today: date) -> None:
    if coupon is None:
        return
    if coupon.status != CatalogStatus.ACTIVE:
        raise InvalidInput({field: [f"Coupon {coupon.id} is archived."]})
    if coupon.valid_until_date is not None and coupon.valid_until_date < today:
        raise InvalidInput({field: [f"Coupon {coupon.id} expired on {coupon.valid_until_date}."]})
    if coupon.discount_scheme == DiscountScheme.AMOUNT and coupon.currency_id != currency:
        raise InvalidInput(
            {field: [f"Coupon {coupon.id} takes off {coupon.currency_id}; "
                     f"this subscription bills in {currency}."]}
        )  # fmt: skip


def _check_lines(
    lines: Sequence[dict[str, Any]], currency: str, today: date, frequency: str | None
) -> str:
    """The lines' common frequency, once every plan is billable in `currency`."""
    if not lines:
        raise InvalidInput({"lines": ["A subscription needs at least one line."]})
    frequencies = set()
    for index, line in enumerate(lines):
        plan: Plan = line["plan"]
        field = f"lines.{index}.plan"
        if plan.status != CatalogStatus.ACTIVE:
            raise InvalidInput({field: [f"Plan {plan.id} is archived."]})
        if plan.usage_scheme == UsageScheme.METERED:
            raise InvalidInput({field: [f"Plan {plan.id} is metered; usage billing is not "
                                        "offered on subscriptions."]})  # fmt: skip
        if plan.currency_id != currency:
            raise InvalidInput(
                {field: [f"Plan {plan.id} is priced in {plan.currency_id}; this subscription "
                         f"bills in {currency}, its customer's currency."]}
            )  # fmt: skip
        _check_coupon(f"lines.{index}.coupon", line.get("coupon"), currency, today)
        frequencies.add(plan.frequency)
    if len(frequencies) > 1 or (frequency is not None and frequencies != {frequency}):
        expected = frequency or "one frequency"
        raise InvalidInput({"lines": [f"Every plan of a subscription bills at {expected}."]})
    return frequencies.pop()


def _check_addons(addons: Sequence[dict[str, Any]], currency: str) -> None:
    for index, item in enumerate(addons):
        addon: AddOn = item["addon"]
        field = f"addons.{index}.addon"
        if addon.status != CatalogStatus.ACTIVE:
            raise InvalidInput({field: [f"Add-on {addon.id} is archived."]})
        if addon.currency_id != currency:
            raise InvalidInput(
                {field: [f"Add-on {addon.id} is priced in {addon.currency_id}; this "
                         f"subscription bills in {currency}."]}
            )  # fmt: skip


def _check_collection(subscription: Subscription) -> None:
    source = subscription.default_source
    if subscription.collection_scheme == CollectionScheme.CHARGE_PAYMENT and source is None:
        raise InvalidInput({"default_source": ["Required to collect by charge_payment."]})
    if source is not None and source.customer_id != subscription.customer_id:
        raise InvalidInput(
            {"default_source": [f"Source {source.id} is not of customer "
                                f"{subscription.customer_id}."]}
        )  # fmt: skip


def _store_lines(
    subscription: Subscription, lines: Sequence[dict[str, Any]], first_cycle: int
) -> None:
    """Replace the lines; a line kept as it was keeps when its coupon started."""
    kept = {
        (line.plan_id, line.quantity, line.coupon_id): line.coupon_first_cycle
        for line in subscription.lines.all()
    }
    subscription.lines.all().delete()
    rows = []
    for position, line in enumerate(lines):
        quantity = Decimal(line.get("quantity", 1))
        coupon = line.get("coupon")
        key = (line["plan"].id, quantity, coupon.id if coupon else None)
        rows.append(SubscriptionLine(
            subscription=subscription, plan=line["plan"], quantity=quantity, coupon=coupon,
            coupon_first_cycle=kept.get(key, first_cycle), position=position,
        ))  # fmt: skip
    SubscriptionLine.objects.bulk_create(rows)


def _store_addons(
    subscription: Subscription, addons: Sequence[dict[str, Any]], first_cycle: int
) -> None:
    kept = {(a.addon_id, a.quantity): a.first_cycle for a in subscription.addons.all()}
    subscription.addons.all().delete()
    rows = []
    for position, item in enumerate(addons):
        quantity = Decimal(item.get("quantity", 1))
        rows.append(SubscriptionAddOn(
            subscription=subscription, addon=item["addon"], quantity=quantity,
            first_cycle=kept.get((item["addon"].id, quantity), first_cycle), position=position,
        ))  # fmt: skip
    SubscriptionAddOn.objects.bulk_create(rows)


def _set_next_billing(subscription: Subscription, day: date | None) -> None:
    subscription.next_billing = day
    subscription.next_billing_at = (
        local_midnight(day, subscription.workspace.timezone) if day is not None else None
    )


def _anchor(given: date | int | None, billing_start: date, frequency: str) -> date:
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


# Create


@transaction.atomic
def subscription_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer,
    lines: Sequence[dict[str, Any]],
    now: datetime,
    document: DocumentType | None = None,
    date_start: date | None = None,
    trial_end: date | None = None,
    billing_anchor: date | int | None = None,
    addons: Sequence[dict[str, Any]] = (),
    **fields: Any,
) -> Subscription:
    """Create a subscription and, when it starts today, bill its first cycle at once.

    Billing starts at `trial_end` (given, or `date_start` plus the longest trial of its
    plans) or at `date_start` (default today, in the workspace's timezone). Boundaries
    follow `billing_anchor` (default: when billing starts), a date or a day of the month;
    an anchor later than that makes the first period a short one, billed prorated by day.
    """
    if customer.status == CustomerStatus.ARCHIVED:
        raise InvalidInput({"customer": ["This customer is archived."]})
    today = _today(workspace, now)
    document = document or main_invoice_type(workspace)
    _check_document(workspace, document)
    currency = customer.currency_id
    frequency = _check_lines(lines, currency, today, None)
    _check_addons(addons, currency)
    _check_coupon("coupon", fields.get("coupon"), currency, today)
    date_start = date_start or today
    if date_start < today:
        raise InvalidInput({"date_start": ["A subscription cannot start in the past."]})
    if date_start > today + MAX_START_AHEAD:
        raise InvalidInput({"date_start": ["A subscription starts within five years."]})
    if trial_end is None:
        trial_days = max(line["plan"].trial_days for line in lines)
        trial_end = date_start + timedelta(days=trial_days) if trial_days else None
    if trial_end is not None and not date_start <= trial_end <= date_start + MAX_START_AHEAD:
        raise InvalidInput({"trial_end": ["The trial ends after the start, within five years."]})
    billing_start = trial_end or date_start
    anchor = _anchor(billing_anchor, billing_start, frequency)
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
    _check_collection(subscription)
    _set_next_billing(subscription, billing_start)
    subscription.save()
    _store_lines(subscription, lines, first_cycle=1)
    _store_addons(subscription, addons, first_cycle=1)
    _record(subscription, "created")
    if subscription.next_billing_at is not None and subscription.next_billing_at <= now:
        cycle_bill(subscription_ids=[subscription.id], clock=fixed_clock(now), wait=True)
        subscription.refresh_from_db()
    return subscription


# Change


@transaction.atomic
def subscription_update(
    *,
    subscription: Subscription,
    now: datetime,
    lines: Sequence[dict[str, Any]] | None = None,
    addons: Sequence[dict[str, Any]] | None = None,
    **fields: Any,
) -> Subscription:
    """Change a live subscription. A coupon or add-on added now applies from the next
    cycle. Changing lines mid-period prorates by day (`_prorate`)."""
    subscription = _lock(subscription)
    if subscription.status not in _EDITABLE_STATUSES:
        raise DomainError(
            "subscription_not_editable",
            f"Subscription {subscription.id} is {subscription.status}; it can no longer change.",
        )
    today = _today(subscription.workspace, now)
    next_cycle = subscription.cycles_billed + 1
    currency = subscription.currency_id
    if "coupon" in fields:
        _check_coupon("coupon", fields["coupon"], currency, today)
        if fields["coupon"] is not None and fields["coupon"].id != subscription.coupon_id:
            subscription.coupon_first_cycle = next_cycle
    billing_cycles = fields.get("billing_cycles")
    if billing_cycles is not None and billing_cycles < subscription.cycles_billed:
        raise InvalidInput(
            {"billing_cycles": [f"{subscription.cycles_billed} cycles are billed already."]}
        )
    for name, value in fields.items():
        setattr(subscription, name, value)
    _check_collection(subscription)
    if addons is not None:
        _check_addons(addons, currency)
        _store_addons(subscription, addons, first_cycle=next_cycle)
    if lines is not None:
        _check_lines(lines, currency, today, subscription.frequency)
        before = list(subscription.lines.select_related("plan", "plan__product"))
        _store_lines(subscription, lines, first_cycle=next_cycle)
        if subscription.status == SubscriptionStatus.ACTIVE:
            _prorate(subscription, before, list(subscription.lines.select_related("plan")), now)
    subscription.save()
    return subscription


def _line_key(line: SubscriptionLine) -> tuple[str, Decimal]:
    return (line.plan_id, Decimal(line.quantity))


def _prorate(
    subscription: Subscription,
    before: list[SubscriptionLine],
    after: list[SubscriptionLine],
    now: datetime,
) -> None:
    """Bill a mid-period change of plans or quantities for the rest of the period.

    The lines that went away are credited for their unused days with a credit note on the
    period's invoice ("Unused time on …"); the lines that came in are invoiced for the
    same days ("Remaining time on …"). Days are the workspace's local days from today to
    the period's end, over the period's days; coupons are not prorated. The new invoice
    is collected like a cycle's (a `proration` billed period).
    """
    today = _today(subscription.workspace, now)
    period = (
        BilledPeriod.objects.select_related("invoice")
        .filter(subscription=subscription, kind=BilledKind.CYCLE)
        .filter(period_start__lte=today, period_end__gt=today)
        .first()
    )
    if period is None:
        return  # not yet billed (a trial, or before the start): nothing to prorate
    removed = [line for line in before if _line_key(line) not in {_line_key(a) for a in after}]
    added = [line for line in after if _line_key(line) not in {_line_key(b) for b in before}]
    days = (period.period_end - today).days
    period_days = (period.period_end - period.period_start).days
    text = period_text(today, period.period_end)
    if removed:
        if period.invoice.status == InvoiceStatus.DRAFT:
            raise DomainError(
                "subscription_period_in_review",
                f"The period's invoice {period.invoice_id} is a draft in review; finalize or "
                "delete it before changing the plans.",
            )
        rows = [_prorated_row("Unused time on", line, days, period_days, text) for line in removed]
        for row in rows:
            del row["plan_id"]  # note lines name no plan
        note = credit_note_create(
            workspace=subscription.workspace, test_mode=subscription.test_mode,
            invoice=period.invoice, reason=3, now=now, date=max(today, period.invoice.date),
            description="Plan change: unused time", lines=rows,
        )  # fmt: skip
        note_finalize(note=note, now=now)
    if added:
        rows = [_prorated_row("Remaining time on", line, days, period_days, text) for line in added]
        invoice = invoice_create(
            workspace=subscription.workspace, test_mode=subscription.test_mode,
            customer=subscription.customer, document=subscription.document, date=today,
            due_date=today + timedelta(days=subscription.expiration_days), lines=rows,
            period_start=today, period_end=period.period_end, subscription_id=subscription.id,
            custom_change=subscription.custom_change,
        )  # fmt: skip
        finalize = not subscription.workspace.review_cycle_invoices
        if finalize:
            invoice_finalize(invoice=invoice, now=now)
        # Collected as the period's own invoice was: charged or emailed, with retries.
        BilledPeriod.objects.create(
            subscription=subscription, kind=BilledKind.PRORATION, cycle=period.cycle,
            period_start=today, period_end=period.period_end, invoice=invoice,
            collection_status=CollectionStatus.PENDING if finalize else CollectionStatus.REVIEW,
            next_attempt_at=now if finalize else None,
        )  # fmt: skip
        if finalize:
            transaction.on_commit(lambda: queue_collection([invoice.id]))


def _prorated_row(
    label: str, line: SubscriptionLine, days: int, period_days: int, text: str
) -> dict[str, Any]:
    plan = line.plan
    return {
        "name": f"{label} {plan.name}",
        "description": f"{text} (prorated {days}/{period_days} days)",
        "quantity": line.quantity,
        "amount": prorated(unit_price(plan, line.quantity), days, period_days),
        "exempt": plan.exempt,
        "plan_id": plan.id,
    }


# Pause, resume, cancel, process


@transaction.atomic
def subscription_pause(
    *,
    subscription: Subscription,
    now: datetime,
    paused_reason: str = PausedReason.NOT_SPECIFIED,
    pause_until: date | None = None,
) -> Subscription:
    """Stop billing until resumed, or until `pause_until` begins in the workspace."""
    subscription = _lock(subscription)
    _transition(subscription, SubscriptionStatus.PAUSED)
    if pause_until is not None and pause_until <= _today(subscription.workspace, now):
        raise InvalidInput({"pause_until": ["A pause ends after today."]})
    subscription.paused_at = now
    subscription.paused_reason = paused_reason
    subscription.pause_until = pause_until
    subscription.resume_at = (
        local_midnight(pause_until, subscription.workspace.timezone) if pause_until else None
    )
    subscription.save()
    _record(subscription, "paused")
    return subscription


def _resume(subscription: Subscription, day: date) -> None:
    """Billing continues at the first boundary on or after `day`: paused periods are
    never billed afterwards."""
    _transition(subscription, SubscriptionStatus.ACTIVE)
    subscription.paused_at = subscription.pause_until = subscription.resume_at = None
    subscription.paused_reason = subscription.needs_attention_reason = None
    subscription.status_description = ""
    if subscription.next_billing is not None and subscription.next_billing < day:
        anchor, frequency = subscription.billing_anchor, subscription.frequency
        _set_next_billing(subscription, boundary_on_or_after(anchor, frequency, day))
    subscription.save()
    _record(subscription, "resumed")


@transaction.atomic
def subscription_resume(*, subscription: Subscription, now: datetime) -> Subscription:
    """Resume a paused subscription, or one that needed attention once it is fixed."""
    subscription = _lock(subscription)
    _resume(subscription, _today(subscription.workspace, now))
    return subscription


@transaction.atomic
def subscriptions_resume_due(*, subscription_ids: Sequence[str], now: datetime) -> int:
    """Resume paused subscriptions whose `pause_until` has come (on `now`)."""
    resumed = 0
    for subscription in (
        Subscription.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("workspace")
        .filter(pk__in=subscription_ids, status=SubscriptionStatus.PAUSED, resume_at__lte=now)
        .order_by("pk")
    ):
        assert subscription.pause_until is not None
        _resume(subscription, subscription.pause_until)
        resumed += 1
    return resumed


@transaction.atomic
def subscription_cancel(
    *,
    subscription: Subscription,
    now: datetime,
    cancel_reason: str = CancelReason.NOT_SPECIFIED,
    at_period_end: bool = False,
) -> Subscription:
    """Cancel now, or at the end of the period already billed (it is then not billed
    again, and cancels when its next billing comes). A paused subscription, or one not yet
    billed, has no period running and cancels now."""
    subscription = _lock(subscription)
    if subscription.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FINALIZED):
        raise DomainError(
            "subscription_invalid_transition",
            f"Subscription {subscription.id} is {subscription.status} already.",
        )
    subscription.cancel_reason = cancel_reason
    running = subscription.status == SubscriptionStatus.ACTIVE and subscription.cycles_billed
    if at_period_end and running and subscription.next_billing is not None:
        subscription.cancel_at_period_end = True
        subscription.status_description = f"Cancels on {subscription.next_billing}."
        subscription.save()  # `subscription.cancelled` is recorded when it takes effect
        return subscription
    _transition(subscription, SubscriptionStatus.CANCELLED)
    subscription.cancelled_at = now
    _set_next_billing(subscription, None)
    subscription.save()
    _record(subscription, "cancelled")
    return subscription


@transaction.atomic
def subscription_process(*, subscription: Subscription, now: datetime) -> BilledPeriod:
    """Bill the due cycle now, without waiting for beat. A racing beat run either billed
    it first (this then finds nothing due: 409) or waits for this to commit."""
    periods = cycle_bill(subscription_ids=[subscription.pk], clock=fixed_clock(now), wait=True)
    if not periods:
        subscription.refresh_from_db()
        raise DomainError(
            "subscription_not_due",
            f"Subscription {subscription.id} has no cycle due: it is {subscription.status}"
            + (f", next billing {subscription.next_billing}." if subscription.next_billing
               else "."),
        )  # fmt: skip
    return periods[0]


# Needs attention


@transaction.atomic
def subscription_flag(
    *, subscription_id: str, reason: NeedsAttentionReason, description: str
) -> Subscription | None:
    """Stop billing an active subscription until someone resumes it; None when it is not
    active (already flagged, paused or ended)."""
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .filter(pk=subscription_id, status=SubscriptionStatus.ACTIVE)
        .first()
    )
    if subscription is None:
        return None
    _transition(subscription, SubscriptionStatus.NEEDS_ATTENTION)
    subscription.needs_attention_reason = reason
    subscription.status_description = description[:256]
    subscription.save()
    _record(subscription, "needs_attention")
    return subscription


def subscription_tax_agency_failed(*, document: Any) -> None:
    """The tax agency rejected a document (a TAX_AGENCY_FAILURE_HOOKS entry): when it is a
    subscription's invoice, the subscription needs attention (`biller_issue`)."""
    subscription_id = getattr(document, "subscription_id", None)
    if not subscription_id:
        return
    errors = (document.tax_agency or {}).get("errors") or []
    reason = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    subscription_flag(
        subscription_id=subscription_id,
        reason=NeedsAttentionReason.BILLER_ISSUE,
        description=f"The tax agency rejected invoice {document.pk}. {reason}".strip(),
    )
