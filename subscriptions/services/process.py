"""Billing a subscription's due cycle on request, ahead of the scheduler."""

from datetime import datetime

from django.db import transaction

from billing.clock import workspace_today
from billing.errors import DomainError
from subscriptions.choices import BILLABLE_STATUSES, BilledKind
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services.cycles import cycle_bill, fixed_clock


def _not_due(subscription: Subscription) -> DomainError:
    subscription.refresh_from_db()
    return DomainError(
        "subscription_not_due",
        f"Subscription {subscription.id} has no cycle due: it is {subscription.status}"
        + (f", next billing {subscription.next_billing}." if subscription.next_billing
           else "."),
    )  # fmt: skip


@transaction.atomic
def subscription_process(*, subscription: Subscription, now: datetime) -> BilledPeriod:
    """Bill the due cycle now, without waiting for beat. A racing beat run either billed
    it first (this then finds nothing due: 409) or waits for this to commit."""
    periods = cycle_bill(subscription_ids=[subscription.pk], clock=fixed_clock(now), wait=True)
    if not periods:
        raise _not_due(subscription)
    return periods[0]


@transaction.atomic
def subscription_process_current(*, subscription: Subscription, now: datetime) -> BilledPeriod:
    """Piriod's `process`: make sure the period running today is billed, and return its
    billed period. A due cycle is billed now; a period already billed (at create, by beat,
    or by an earlier `process`) is returned as it is, so the guide's "create, then process"
    yields one invoice, and a retry or a racing beat run never a second one. Nothing
    billed for today, or a subscription that is not active (a start ahead, a pause, a
    cancellation), is 409 `subscription_not_due`.
    """
    periods = cycle_bill(subscription_ids=[subscription.pk], clock=fixed_clock(now), wait=True)
    if periods:
        return periods[0]
    # cycle_bill waited for any run holding the row: what it billed is committed now.
    subscription.refresh_from_db()
    if subscription.status not in BILLABLE_STATUSES:
        raise _not_due(subscription)
    today = workspace_today(subscription.workspace, now)
    current = (
        BilledPeriod.objects.filter(
            subscription=subscription,
            kind=BilledKind.CYCLE,
            period_start__lte=today,
            period_end__gt=today,
        )
        .order_by("-period_start")
        .first()
    )
    if current is None:
        raise _not_due(subscription)
    return current
