"""Billing cycles: bill every due subscription's next period, many per transaction.

A batch locks its subscriptions (`SKIP LOCKED`: rows another batch holds are that
batch's), re-checks each is still due on its tenant's clock, prices the invoices in
memory, issues them through invoices.services.batch (bulk inserts, one number range per document
type), writes the `BilledPeriod` rows and advances `next_billing`, all in one
transaction. So two beat runs at once, a worker killed mid-batch (the transaction rolls
back; the redelivered task bills the same periods) and `process` racing beat bill each
period once; the unique (subscription, period_start) would refuse a second invoice even
if the design failed. Collection (charge or email) starts after commit (collection.py).
A batch that bills usage holds its tenants' usage locks from before it reads the usage
until it commits, so each event is either counted or answered late (subscriptions.usage).

A subscription that cannot be billed (a usage beyond what an invoice line holds, say)
stops its own cycles, not its batch's: the batch is billed again one subscription at a
time, and the one that fails alone needs attention (`processing_issue`).
"""

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import cast

import orjson
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import ForeignKey, Model, Prefetch, prefetch_related_objects
from django.db.models.functions import Now
from django.utils import timezone

from billing.bulk import any_of, collector_paused, copy_rows, key_array
from billing.clock import workspace_today
from billing.errors import DomainError, InvalidInput
from billing.ids import public_ids
from billing.models import DocumentType, Workspace
from billing.queueing import task_queue_or_leave
from billing.services.events import NewEvent, event_record_rows
from billing.sweeps import claim_for_enqueue
from catalog.choices import DurationScheme
from catalog.models import Coupon, Plan, PlanTier
from customers.models import Customer
from invoices.models import Invoice
from invoices.services.batch import InvoiceDraft, invoices_issue_batch
from subscriptions.calendar import local_midnight
from subscriptions.choices import (
    BilledKind,
    CollectionStatus,
    NeedsAttentionReason,
    SubscriptionStatus,
    cycle_due,
)
from subscriptions.models import (
    BilledPeriod,
    EndedLine,
    PausedSpan,
    Subscription,
    SubscriptionAddOn,
    SubscriptionLine,
)
from subscriptions.next_invoice import (
    NextInvoice,
    cancels_at_next_billing,
    cycle_day,
    cycles_done,
    final_invoice,
    is_last_billing,
    next_invoice,
)
from subscriptions.pricing import coupon_applies
from subscriptions.representations import subscription_cycle_snapshot
from subscriptions.selectors import DUE_ORDER, subscriptions_due, subscriptions_due_ids
from subscriptions.services.attention import subscription_flag
from subscriptions.services.common import transition
from subscriptions.usage import is_metered, metered_lines, usage_lock_exclusive, usage_quantities

logger = logging.getLogger(__name__)

# clock(workspace=…, test_mode=…) → that tenant's now (billing.clock.clock_now).
Clock = Callable[..., datetime]

# Failures of the database connection or of concurrency (a deadlock, a lock timeout) say
# nothing about a subscription: they end the run, and the batch is billed again by the
# task's redelivery or the next run.
_TRANSIENT = (OperationalError, InterfaceError)

BATCH_SIZE = 500
# What a cycle changes on a subscription.
_ADVANCED_FIELDS = [
    "next_billing", "next_billing_at", "previous_billing", "cycles_billed", "status",
    "status_description", "cancelled_at", "coupon_first_cycle",
]  # fmt: skip


def fixed_clock(at: datetime) -> Clock:
    """A clock that says `at` for every tenant: for a caller that already read it."""
    return lambda **_: at


@dataclass(frozen=True)
class _Billed:
    subscription: Subscription
    draft: InvoiceDraft
    cycle: int
    start: date
    end: date
    kind: str = BilledKind.CYCLE
    # The subscription's ended lines, loaded with the batch: this invoice is their last.
    ended: Sequence[EndedLine] = ()


class _TenantBatch:
    def __init__(self, workspace: Workspace, test_mode: bool, now: datetime) -> None:
        self.workspace, self.test_mode, self.now = workspace, test_mode, now
        self.due: list[Subscription] = []
        self.billed: list[_Billed] = []
        self.cancelled: list[Subscription] = []
        # Those whose billing has ended (`billing_cycles`): each says so in an event.
        self.finalized: list[Subscription] = []
        # Lines whose coupon a cycle that issued nothing moved on (`_defer_coupons`).
        self.deferred: list[SubscriptionLine] = []
        # Ids for the invoices it issues, made in bulk once its due subscriptions are
        # known (one invoice each at most); None: each invoice makes its own.
        self.invoice_ids: Iterator[str] | None = None

    def invoice_id(self) -> str | None:
        return None if self.invoice_ids is None else next(self.invoice_ids)

    def bill(self, billed: _Billed) -> None:
        """Issue `billed`'s invoice with the batch's, unless it has no line: a document
        needs one. A period with nothing to bill (a metered-only subscription's first,
        which follows no usage) is passed over, and its subscription advances all the same."""
        if billed.draft.lines:
            self.billed.append(billed)


def _lock_due(subscription_ids: Sequence[str], wait: bool) -> list[Subscription]:
    # `of`: only the subscription rows; skip_locked leaves other batches' rows to them.
    # The status is checked on the locked rows, not in the query: a status condition
    # matches the due index's predicate, and without fresh statistics the planner reads
    # every active subscription through that index instead of the batch's keys.
    locked = Subscription.objects.select_for_update(of=("self",), skip_locked=not wait)
    subscriptions = [
        subscription
        for subscription in locked.filter(pk__in=any_of(subscription_ids)).order_by("pk")
        if cycle_due(subscription.status, subscription.cancel_at_period_end)
    ]
    _attach_related(subscriptions)
    return subscriptions


def _attach_related(subscriptions: list[Subscription]) -> None:
    """Each subscription's workspace, document type and coupon, one query per kind and one
    instance per row: a join would build one per subscription, and a batch's subscriptions
    share a few tenants, document types and coupons. Not the customer: an invoice is
    written with its key, and only the usage of metered lines reads more (`_usage`)."""
    related: list[tuple[str, type[Model]]] = [
        ("workspace", Workspace), ("document", DocumentType), ("coupon", Coupon),
    ]  # fmt: skip
    for name, model in related:
        _attach(subscriptions, name, model)


def _attach(subscriptions: Sequence[Subscription], name: str, model: type[Model]) -> None:
    attname = f"{name}_id"
    ids = {getattr(s, attname) for s in subscriptions} - {None}
    # Unordered: a model's default order costs a sort, and a document type's a join.
    found = model._default_manager.filter(pk__in=any_of(ids)).order_by()
    loaded = {o.pk: o for o in found}
    # Cached as a query's join caches it: the descriptor's setter checks the instance's
    # type and database and sets the key again, per row.
    cache = _field(Subscription, name).set_cached_value
    for subscription in subscriptions:
        key = getattr(subscription, attname)
        cache(subscription, loaded[key] if key is not None else None)


def _field(model: type[Model], name: str) -> ForeignKey:
    return cast(ForeignKey, model._meta.get_field(name))


@dataclass
class _Items:
    """What a subscription bills: its lines, its add-ons, and the metered lines removed
    in the running period (their usage is still owed); and its pauses, whose usage is
    not billed."""

    lines: list[SubscriptionLine] = field(default_factory=list)
    addons: list[SubscriptionAddOn] = field(default_factory=list)
    ended: list[EndedLine] = field(default_factory=list)
    paused: list[PausedSpan] = field(default_factory=list)


Items = dict[str, _Items]


def _load_items(subscriptions: list[Subscription]) -> Items:
    """Each subscription's lines and ended lines (plans, their products and tiers, coupons)
    and add-ons in a query per kind, grouped by hand (a prefetch builds a queryset per
    subscription), with one instance per plan and coupon however many lines name it."""
    ids = [s.pk for s in subscriptions]
    items: Items = {s.pk: _Items() for s in subscriptions}
    loaded = list(SubscriptionLine.objects.filter(subscription_id__in=any_of(ids)))
    ended = list(EndedLine.objects.filter(subscription_id__in=any_of(ids)))
    both: list[SubscriptionLine | EndedLine] = [*loaded, *ended]
    plan_ids = any_of({line.plan_id for line in both})
    found = Plan.objects.select_related("product").filter(pk__in=plan_ids).order_by()
    plans = {p.pk: p for p in found}
    coupon_ids = {line.coupon_id for line in both} - {None}
    coupons = Coupon.objects.in_bulk(coupon_ids) if coupon_ids else {}
    for line in both:
        _field(type(line), "plan").set_cached_value(line, plans[line.plan_id])
        _field(type(line), "coupon").set_cached_value(line, coupons.get(line.coupon_id))
    for line in loaded:
        items[line.subscription_id].lines.append(line)
    for gone in ended:
        items[gone.subscription_id].ended.append(gone)
    tiered = [p for p in plans.values() if p.tiers_mode is not None]
    prefetch_related_objects(tiered, Prefetch("tiers", PlanTier.objects.order_by("position")))
    selected = SubscriptionAddOn.objects.filter(subscription_id__in=any_of(ids))
    for item in selected.select_related("addon"):
        items[item.subscription_id].addons.append(item)
    for span in PausedSpan.objects.filter(subscription_id__in=any_of(ids)).order_by():
        items[span.subscription_id].paused.append(span)
    return items


def _owes_usage(own: _Items) -> bool:
    return bool(own.ended) or any(is_metered(line.plan) for line in own.lines)


def _lock_usage(batches: Iterable[_TenantBatch], items: Items) -> None:
    """Hold off, until this transaction commits, the events of each tenant whose batch
    bills usage: an event stored between the usage read and the commit would be neither
    billed nor reported late (subscriptions.usage.usage_lock_exclusive)."""
    usage_lock_exclusive(
        (batch.workspace.pk, batch.test_mode)
        for batch in batches
        if any(_owes_usage(items[subscription.pk]) for subscription in batch.due)
    )


def _usage(batch: _TenantBatch, items: Items, until: datetime | None = None) -> dict[str, Decimal]:
    """The usage of every metered line of the batch's due subscriptions over the period
    each has just ended (the one before the period due), or up to `until` (a cancellation
    now), counted in one query per meter, inside the transaction that writes the invoice
    that bills it: that invoice is written once."""
    timezone_name = batch.workspace.timezone
    windows = []
    for subscription in batch.due:
        start, end = subscription.previous_billing, until
        if end is None and subscription.next_billing is not None:
            end = local_midnight(subscription.next_billing, timezone_name)
        if start is None or end is None:
            continue  # a first cycle follows no period: no usage to bill
        if _owes_usage(items[subscription.pk]):
            windows.append((subscription, start, end))
    # Usage is counted per customer as well: the metered subscriptions' customers.
    customer = _field(Subscription, "customer")
    _attach([s for s, _, _ in windows if not customer.is_cached(s)], "customer", Customer)
    metered = []
    for subscription, start, end in windows:
        window_start = local_midnight(start, timezone_name)
        own = items[subscription.pk]
        for line in own.lines:
            if is_metered(line.plan):
                metered += metered_lines(subscription, line, window_start, end, own.paused)
        for gone in own.ended:
            metered += metered_lines(
                subscription, gone, local_midnight(gone.usage_start, timezone_name),
                min(gone.ended_at, end), own.paused,
            )  # fmt: skip
    return usage_quantities(
        workspace_id=batch.workspace.pk, test_mode=batch.test_mode, lines=metered
    )


def _add_invoice(
    billed: NextInvoice, subscription: Subscription, batch: _TenantBatch, items: Items
) -> None:
    if billed.draft is not None:
        batch.bill(
            _Billed(subscription, billed.draft, billed.cycle, billed.start, billed.end,
                    billed.kind, ended=items[subscription.pk].ended)
        )  # fmt: skip


def _advance(
    subscription: Subscription, batch: _TenantBatch, items: Items, usage: dict[str, Decimal]
) -> None:
    """Price the due period and move the subscription past it (in memory)."""
    assert subscription.next_billing is not None
    own = items[subscription.pk]
    billed = next_invoice(
        subscription, lines=own.lines, addons=own.addons, ended=own.ended, usage=usage,
        start=subscription.next_billing, today=workspace_today(batch.workspace, batch.now),
        invoice_id=batch.invoice_id(),
    )  # fmt: skip
    _add_invoice(billed, subscription, batch, items)
    if billed.kind == BilledKind.CYCLE and not billed.issued:
        batch.deferred += _defer_coupons(subscription, own.lines, billed.cycle)
    if cancels_at_next_billing(subscription):
        transition(subscription, SubscriptionStatus.CANCELLED)
        subscription.cancelled_at = subscription.next_billing_at
        subscription.next_billing = subscription.next_billing_at = None
        batch.cancelled.append(subscription)
        return
    if billed.kind == BilledKind.FINAL:
        # The last billed period has ended, and its usage with it.
        transition(subscription, SubscriptionStatus.FINALIZED)
        subscription.next_billing = subscription.next_billing_at = None
        batch.finalized.append(subscription)
        return
    subscription.previous_billing = billed.start
    subscription.cycles_billed = billed.cycle
    if cycles_done(subscription) and not _owes_usage(own):
        transition(subscription, SubscriptionStatus.FINALIZED)
        subscription.next_billing = subscription.next_billing_at = None
        batch.finalized.append(subscription)
    else:
        # A last period with metered lines runs to its end, when its usage is billed.
        # Held before a cancellation at period end, the next period held is billed in
        # the next pass, as the cancellation is due already.
        subscription.next_billing = billed.end
        subscription.next_billing_at = local_midnight(
            cast(date, cycle_day(subscription, billed.end)), batch.workspace.timezone
        )


def _defer_coupons(
    subscription: Subscription, lines: list[SubscriptionLine], cycle: int
) -> list[SubscriptionLine]:
    """A cycle that issues no invoice (a metered-only subscription's first: no period has
    ended, so no usage is due) uses none of the coupons' applications, which count
    invoices: each coupon of limited use that would have applied on it starts a cycle
    later. Returns the lines so changed; the subscription's is written with its advance."""
    coupon = subscription.coupon
    if _limited_use(coupon, subscription.coupon_first_cycle, cycle):
        subscription.coupon_first_cycle += 1
    changed = []
    for line in lines:
        if _limited_use(line.coupon, line.coupon_first_cycle, cycle):
            line.coupon_first_cycle += 1
            changed.append(line)
    return changed


def _limited_use(coupon: Coupon | None, first_cycle: int, cycle: int) -> bool:
    return (
        coupon is not None
        and coupon.duration_scheme != DurationScheme.FOREVER
        and coupon_applies(coupon, first_cycle, cycle)
    )


@dataclass(frozen=True)
class _Issued:
    """A billed period as written: what `cycle_bill` hands back as a BilledPeriod."""

    subscription: Subscription
    invoice: Invoice
    cycle: int
    start: date
    end: date
    kind: str
    collection_status: str
    next_attempt_at: datetime | None

    def period(self) -> BilledPeriod:
        period = BilledPeriod(
            subscription=self.subscription, kind=self.kind, cycle=self.cycle,
            period_start=self.start,
            period_end=self.end, invoice=self.invoice, collection_status=self.collection_status,
            next_attempt_at=self.next_attempt_at,
        )  # fmt: skip
        period._state.adding = False
        return period


_PERIOD_COLUMNS = [
    "subscription_id", "kind", "cycle", "period_start", "period_end", "invoice_id",
    "collection_status", "collection_attempts", "next_attempt_at", "last_error", "created_at",
]  # fmt: skip


def _issue(batch: _TenantBatch, events_recorded: list[str]) -> list[_Issued]:
    issued = []
    if batch.billed:
        finalize = not batch.workspace.review_cycle_invoices
        invoices = invoices_issue_batch(
            workspace=batch.workspace,
            test_mode=batch.test_mode,
            drafts=[billed.draft for billed in batch.billed],
            finalize=finalize,
            now=batch.now,
            collect_events=events_recorded,
        )
        status = CollectionStatus.PENDING if finalize else CollectionStatus.REVIEW
        next_attempt_at = batch.now if finalize else None
        issued = [
            _Issued(billed.subscription, invoice, billed.cycle, billed.start, billed.end,
                    billed.kind, status, next_attempt_at)
            for billed, invoice in zip(batch.billed, invoices, strict=True)
        ]  # fmt: skip
        # Removed lines' usage is billed now, on these invoices: once. The rows are the
        # ones loaded under the subscriptions' locks; most batches have none.
        ended = [gone.pk for billed in batch.billed for gone in billed.ended]
        if ended:
            EndedLine.objects.filter(pk__in=any_of(ended)).delete()
        written_at = timezone.now()
        copy_rows(
            BilledPeriod,
            _PERIOD_COLUMNS,
            [
                (i.subscription.pk, i.kind, i.cycle, i.start, i.end, i.invoice.pk,
                 status, 0, next_attempt_at, "", written_at)
                for i in issued
            ],
        )  # fmt: skip
    events = [
        NewEvent(
            "subscription.invoiced",
            b.subscription.id,
            subscription_cycle_snapshot(b.subscription, b.draft.invoice.id),
        )
        for b in batch.billed
    ]
    events += [
        NewEvent("subscription.cancelled", s.id, subscription_cycle_snapshot(s, None))
        for s in batch.cancelled
    ]
    events += [
        NewEvent("subscription.finalized", s.id, subscription_cycle_snapshot(s, None))
        for s in batch.finalized
    ]
    event_record_rows(
        workspace_id=batch.workspace.pk, test_mode=batch.test_mode, events=events,
        collect=events_recorded,
    )  # fmt: skip
    return issued


def _bill(subscription_ids: Sequence[str], clock: Clock, wait: bool) -> tuple[list[_Issued], int]:
    batches: dict[tuple[str, bool], _TenantBatch] = {}
    changed: list[Subscription] = []
    subscriptions = _lock_due(subscription_ids, wait)
    items = _load_items(subscriptions)
    for subscription in subscriptions:
        key = (subscription.workspace_id, subscription.test_mode)
        if key not in batches:
            now = clock(workspace=subscription.workspace, test_mode=subscription.test_mode)
            batches[key] = _TenantBatch(subscription.workspace, subscription.test_mode, now)
        batch = batches[key]
        due_at = subscription.next_billing_at
        if due_at is None or due_at > batch.now:
            continue  # billed by someone else since it was found due
        batch.due.append(subscription)
    _lock_usage(batches.values(), items)
    for batch in batches.values():
        batch.invoice_ids = iter(public_ids("inv", len(batch.due)))
        usage = _usage(batch, items)
        for subscription in batch.due:
            _advance(subscription, batch, items, usage)
            changed.append(subscription)
    events: list[str] = []
    issued = [one for batch in batches.values() for one in _issue(batch, events)]
    _store_advanced(changed)
    deferred = [line for batch in batches.values() for line in batch.deferred]
    if deferred:
        SubscriptionLine.objects.bulk_update(deferred, ["coupon_first_cycle"])
    _after_commit(issued, events)
    return issued, len(changed)


def _after_commit(issued: list[_Issued], events: list[str]) -> None:
    """Once committed: every event of the batch, invoices' and subscriptions', in one
    publishing task, and the collection of the invoices to collect."""
    if events:
        transaction.on_commit(lambda: _queue_event_publishing(events))
    pending = [i.invoice.pk for i in issued if i.collection_status == CollectionStatus.PENDING]
    if pending:
        transaction.on_commit(lambda: queue_collection(pending))


def _held_period_due(subscription: Subscription, now: datetime) -> bool:
    """A period of a subscription that needs attention came due by `now` and is not
    billed yet; the one a cancellation at period end would take effect on is not held."""
    next_billing = subscription.next_billing
    return (
        subscription.status == SubscriptionStatus.NEEDS_ATTENTION
        and next_billing is not None
        and local_midnight(next_billing, subscription.workspace.timezone) <= now
        and not is_last_billing(subscription)
    )


def held_periods_bill(*, subscription: Subscription, now: datetime) -> list[BilledPeriod]:
    """Bill the periods that came due by `now` while a subscription (locked by the caller)
    needed attention, one cycle invoice each, oldest first, as a resume or a cancellation
    at period end would: for a cancellation now, before its final usage invoice and its
    credit. Each advances `next_billing` past its period in the same transaction that
    writes its billed period, so a retry finds it billed and the unique billed period
    refuses a second invoice even if it did not."""
    issued: list[_Issued] = []
    while _held_period_due(subscription, now):
        batch = _TenantBatch(subscription.workspace, subscription.test_mode, now)
        batch.due.append(subscription)
        # Loaded again each period: the ended lines' usage goes on the first invoice only.
        items = _load_items([subscription])
        _lock_usage([batch], items)
        _advance(subscription, batch, items, _usage(batch, items))
        events: list[str] = []
        billed = _issue(batch, events)
        _store_advanced([subscription])
        if batch.deferred:
            SubscriptionLine.objects.bulk_update(batch.deferred, ["coupon_first_cycle"])
        _after_commit(billed, events)
        issued += billed
    return [one.period() for one in issued]


def final_usage_bill(*, subscription: Subscription, now: datetime) -> BilledPeriod | None:
    """Bill the usage of a subscription cancelled now (locked by the caller): its metered
    lines' usage from the running period's start to `now`, on a final invoice collected
    as a cycle's. None when nothing is metered or no period has been billed."""
    if subscription.previous_billing is None:
        return None
    batch = _TenantBatch(subscription.workspace, subscription.test_mode, now)
    batch.due.append(subscription)
    items = _load_items([subscription])
    _lock_usage([batch], items)
    usage = _usage(batch, items, until=now)
    # Half-open, like every period: the day of the cancellation is the last one billed.
    today = workspace_today(batch.workspace, now)
    own = items[subscription.pk]
    billed = final_invoice(
        subscription, lines=own.lines, ended=own.ended, usage=usage,
        end=today + timedelta(days=1), today=today, invoice_id=batch.invoice_id(),
    )  # fmt: skip
    _add_invoice(billed, subscription, batch, items)
    if not batch.billed:
        return None
    events: list[str] = []
    issued = _issue(batch, events)
    _after_commit(issued, events)
    return issued[0].period()


def _bill_isolated(subscription_ids: Sequence[str], clock: Clock) -> tuple[list[_Issued], int]:
    """`_bill` in a savepoint; when it fails, each subscription again in its own, and the
    one that fails alone is flagged and counted as done: it is no longer due."""
    try:
        with transaction.atomic():
            return _bill(subscription_ids, clock, wait=False)
    except _TRANSIENT:
        raise
    except Exception as exc:
        if len(subscription_ids) == 1:
            return [], _flag_unbillable(subscription_ids[0], clock, exc)
    issued: list[_Issued] = []
    done = 0
    for subscription_id in subscription_ids:
        one, count = _bill_isolated([subscription_id], clock)
        issued += one
        done += count
    return issued, done


def _flag_unbillable(subscription_id: str, clock: Clock, exc: Exception) -> int:
    logger.error("Subscription %s could not be billed", subscription_id, exc_info=exc)
    subscription = Subscription.objects.select_related("workspace").get(pk=subscription_id)
    if isinstance(exc, DomainError):
        why = exc.detail
    elif isinstance(exc, InvalidInput):
        why = "; ".join(message for messages in exc.errors.values() for message in messages)
    else:
        why = f"an unexpected error ({type(exc).__name__}); the server's log has it"
    flagged = subscription_flag(
        subscription_id=subscription_id,
        reason=NeedsAttentionReason.PROCESSING_ISSUE,
        description=f"Its cycle could not be billed: {why}",
        now=clock(workspace=subscription.workspace, test_mode=subscription.test_mode),
    )
    return int(flagged is not None)


@transaction.atomic
def cycle_bill_due(*, subscription_ids: Sequence[str], clock: Clock) -> list[BilledPeriod]:
    """For beat's batches: `cycle_bill`, but a subscription that cannot be billed needs
    attention (`processing_issue`) and the rest of the batch is billed."""
    return [issued.period() for issued in _bill_isolated(subscription_ids, clock)[0]]


@transaction.atomic
def cycle_bill(
    *, subscription_ids: Sequence[str], clock: Clock, wait: bool = False
) -> list[BilledPeriod]:
    """Bill the next period of each of these subscriptions that is still due.

    Rows locked by another transaction are skipped (they are being billed there), unless
    `wait`, which `process` uses to bill one subscription: it then waits and re-checks.
    A subscription due to cancel at period end is cancelled instead of billed.
    """
    return [issued.period() for issued in _bill(subscription_ids, clock, wait)[0]]


def _store_advanced(subscriptions: list[Subscription]) -> None:
    """Write the advanced columns of many subscriptions in one statement (`bulk_update`
    builds a CASE per column and row, which costs more than the rest of the cycle)."""
    if not subscriptions:
        return
    if connection.vendor != "postgresql":
        for subscription in subscriptions:
            subscription.updated_at = Now()
            subscription.enqueued_at = None
        Subscription.objects.bulk_update(
            subscriptions, [*_ADVANCED_FIELDS, "enqueued_at", "updated_at"]
        )
        return
    columns = {
        "id": "text", "next_billing": "date", "next_billing_at": "timestamptz",
        "previous_billing": "date", "cycles_billed": "integer", "status": "text",
        "status_description": "text", "cancelled_at": "timestamptz",
        "coupon_first_cycle": "integer",
    }  # fmt: skip
    # The new values as one JSON parameter (orjson writes dates and instants in ISO 8601,
    # to the microsecond), which psycopg passes on as it is: a list parameter per column
    # is written element by element in Python, then quoted.
    values = orjson.dumps([{name: getattr(s, name) for name in columns} for s in subscriptions])
    record = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    # updated_at as auto_now sets it: the time of the write, whatever
    # clock the tenant bills on. Billed, a subscription is no longer queued by beat.
    assign = ", ".join([*(f"{name} = v.{name}" for name in columns if name != "id"),
                        "enqueued_at = NULL", "updated_at = clock_timestamp()"])  # fmt: skip
    keys, keys_param = key_array([s.id for s in subscriptions])
    with connection.cursor() as cursor:
        # `s.id = ANY(…)` as well as the join: the planner then finds the rows by key
        # whatever its estimate of the new values' rows, where the join alone leads it to
        # read the whole table when its statistics are stale.
        cursor.execute(
            f"UPDATE {Subscription._meta.db_table} AS s SET {assign} "
            f"FROM json_to_recordset(%s::json) AS v({record}) "
            f"WHERE s.id = v.id AND s.id = ANY({keys})",
            [values.decode(), keys_param],
        )


def _queue_event_publishing(event_ids: list[str]) -> None:
    # Not queued while the broker is down: the outbox sweep publishes them later.
    task_queue_or_leave("subscriptions.tasks.publish_events", kwargs={"event_ids": event_ids})


def queue_collection(invoice_ids: list[str]) -> None:
    """Start collecting these invoices' periods (call once they are committed). The task
    is named the invoices: the periods' keys were made by the database and not read back,
    and reading them here would keep the committing caller for one more query."""
    # Not queued while the broker is down: the collection beat finds them due anyway.
    task_queue_or_leave("subscriptions.tasks.collect_periods", kwargs={"invoice_ids": invoice_ids})


def periods_of_invoices(invoice_ids: Sequence[str]) -> list[int]:
    """The billed periods these invoices bill."""
    periods = BilledPeriod.objects.filter(invoice_id__in=any_of(invoice_ids))
    return list(periods.order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def cycle_claim_due(*, now: datetime, limit: int) -> list[str]:
    """For beat: up to `limit` due subscriptions (on each tenant's clock, `now` being the
    real time) not already queued, earliest first, marked as queued. Billing them takes
    the mark off (`_store_advanced`), so a beat firing again while a batch waits on the
    broker, or a second beat, does not queue them again; a mark older than the lease
    was lost with its message, and they are queued again."""
    return claim_for_enqueue(
        subscriptions_due(now=now), now=now, limit=limit, order_by=DUE_ORDER, field="enqueued_at"
    )


def cycle_run(
    *,
    clock: Clock,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    workspace: Workspace | None = None,
    test_mode: bool = False,
) -> int:
    """Bill, batch after batch, until nothing is due at `now` (on each tenant's clock,
    or on `now` for the one tenant named). A subscription several periods behind is billed
    one period per pass, in order. Returns how many cycles were run (billed or cancelled
    at period end), and subscriptions flagged because they could not be billed."""
    advanced = 0
    while True:
        ids = subscriptions_due_ids(
            now=now, limit=batch_size, workspace=workspace, test_mode=test_mode
        )
        if not ids:
            return advanced
        with collector_paused(), transaction.atomic():
            count = _bill_isolated(ids, clock)[1]
        if not count:
            return advanced  # every due row is locked by another runner: leave them to it
        advanced += count
