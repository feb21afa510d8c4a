"""Subscription reads: the API's queryset, what is due, and the billing history."""

from datetime import datetime

from django.db.models import F, Prefetch, Q, QuerySet

from billing.clock import reached_on_clock
from billing.models import Workspace
from catalog.models import AddOn, Coupon, Plan, PlanTier
from invoices.models import Invoice
from invoices.selectors import invoice_queryset
from subscriptions.choices import CYCLE_DUE, CollectionStatus, SubscriptionStatus
from subscriptions.models import (
    BilledPeriod,
    EndedLine,
    Subscription,
    SubscriptionAddOn,
    SubscriptionLine,
)


def subscription_lines_prefetch() -> Prefetch:
    lines = SubscriptionLine.objects.select_related(
        "plan", "plan__product", "coupon"
    ).prefetch_related(Prefetch("plan__tiers", queryset=PlanTier.objects.order_by("position")))
    return Prefetch("lines", queryset=lines)


def subscription_addons_prefetch() -> Prefetch:
    return Prefetch("addons", queryset=SubscriptionAddOn.objects.select_related("addon"))


def subscription_queryset() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("workspace").prefetch_related(
        subscription_lines_prefetch(),
        subscription_addons_prefetch(),
        Prefetch("ended_lines", queryset=EndedLine.objects.all()),
    )


def subscriptions_due(
    *, now: datetime, workspace: Workspace | None = None, test_mode: bool = False
) -> QuerySet[Subscription]:
    """Subscriptions whose next billing has come (to bill, or to cancel at period end),
    on each tenant's clock (or on `now` for the one tenant named)."""
    return Subscription.objects.filter(
        CYCLE_DUE, reached_on_clock("next_billing_at", now, workspace, test_mode)
    )


# The order due subscriptions are billed in: earliest first.
DUE_ORDER = ("next_billing_at", "id")


def subscriptions_due_ids(
    *,
    now: datetime,
    limit: int,
    workspace: Workspace | None = None,
    test_mode: bool = False,
) -> list[str]:
    """The ids of `subscriptions_due`, earliest first."""
    due = subscriptions_due(now=now, workspace=workspace, test_mode=test_mode)
    return list(due.order_by(*DUE_ORDER).values_list("id", flat=True)[:limit])


def subscriptions_resume_due_ids(
    *, now: datetime, workspace: Workspace | None = None, test_mode: bool = False
) -> list[str]:
    """Paused subscriptions whose `pause_until` has come."""
    paused = Subscription.objects.filter(
        reached_on_clock("resume_at", now, workspace, test_mode), status=SubscriptionStatus.PAUSED
    )
    return list(paused.order_by("resume_at", "id").values_list("id", flat=True))


def periods_collect_due_ids(*, now: datetime, limit: int = 500) -> list[int]:
    """Billed periods whose charge or email is due: pending ones whose attempt time has
    come, and reviewed ones whose invoice is no longer a draft."""
    # Leases are on the real clock, whatever the tenant's: `now` is beat's reading of it.
    unleased = Q(leased_until__isnull=True) | Q(leased_until__lte=now)
    pending = BilledPeriod.objects.filter(
        unleased,
        Q(collection_status=CollectionStatus.PENDING)
        & (
            Q(subscription__test_mode=False, next_attempt_at__lte=now)
            | Q(
                subscription__test_mode=True,
                subscription__workspace__test_clock_at__isnull=True,
                next_attempt_at__lte=now,
            )
            | Q(
                subscription__test_mode=True,
                next_attempt_at__lte=F("subscription__workspace__test_clock_at"),
            )
        ),
    )
    reviewed = BilledPeriod.objects.filter(
        unleased, collection_status=CollectionStatus.REVIEW
    ).exclude(invoice__status="draft")
    ids = list(pending.order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    ids += list(reviewed.values_list("id", flat=True)[: max(limit - len(ids), 0)])
    return ids


def subscription_invoices(*, subscription: Subscription) -> QuerySet[Invoice]:
    """The subscription's invoices, newest period first: its billing history."""
    return (
        invoice_queryset()
        .filter(
            workspace_id=subscription.workspace_id,
            test_mode=subscription.test_mode,
            subscription_id=subscription.id,
        )
        .order_by("-period_start", "-created_at", "-id")
    )


# Still billing: a cancelled or finalized subscription bills nothing more.
_BILLING_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAUSED,
    SubscriptionStatus.NEEDS_ATTENTION,
)


def subscription_billing_with(obj: Plan | AddOn | Coupon) -> str | None:
    """A subscription still billing with this plan, add-on or coupon ("subscription
    sub_…"), or None: the catalog keeps the price of what one bills with."""
    live = Subscription.objects.filter(status__in=_BILLING_STATUSES)
    if isinstance(obj, Plan):
        held = Q(lines__plan=obj) | Q(ended_lines__plan=obj)
    elif isinstance(obj, AddOn):
        held = Q(addons__addon=obj)
    else:
        held = Q(coupon=obj) | Q(lines__coupon=obj) | Q(ended_lines__coupon=obj)
    found = live.filter(held).values_list("pk", flat=True).first()
    return None if found is None else f"subscription {found}"
