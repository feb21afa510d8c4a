"""What the subscription services share: locking, transitions, events, next billing."""

from datetime import date, datetime, timedelta

from billing.errors import DomainError
from billing.services.events import event_record
from subscriptions.calendar import local_midnight
from subscriptions.choices import SUBSCRIPTION_TRANSITIONS, SubscriptionStatus
from subscriptions.models import Subscription
from subscriptions.next_invoice import cycle_day
from subscriptions.representations import subscription_snapshot

# How far ahead a subscription may start, its trial end or its pause end: further is
# almost certainly a typo (and near the calendar's end, year 9999, no period is whole).
MAX_AHEAD = timedelta(days=5 * 366)


def record(subscription: Subscription, verb: str) -> None:
    event_record(
        workspace=subscription.workspace,
        test_mode=subscription.test_mode,
        type=f"subscription.{verb}",
        object_id=subscription.id,
        data=subscription_snapshot(subscription),
    )


def transition(subscription: Subscription, target: SubscriptionStatus, why: str = "") -> None:
    """Move it to `target`, and its description with it: every status change goes through
    here, so the description never speaks of a status it left. `why` is the reason one
    that needs attention gives."""
    if (subscription.status, target) not in SUBSCRIPTION_TRANSITIONS:
        raise DomainError(
            "subscription_invalid_transition",
            f"Subscription {subscription.id} is {subscription.status} and cannot become {target}.",
        )
    subscription.status = target
    subscription.status_description = why[:256]
    describe(subscription)


def describe(subscription: Subscription) -> None:
    """Its description for its status: the cancellation to come of one that runs (active
    or paused), why one that needs attention does (kept until it is resumed or ends),
    nothing once it has ended. Called again when its cancellation changes."""
    if subscription.status == SubscriptionStatus.NEEDS_ATTENTION:
        return
    running = subscription.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)
    if running and subscription.cancel_at_period_end:
        day = subscription.cancel_at or subscription.next_billing
        subscription.status_description = f"Cancels on {day}."
    else:
        subscription.status_description = ""


def lock(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("workspace", "document", "customer", "coupon")
        .get(pk=subscription.pk)
    )


def local_midnight_or_none(subscription: Subscription, day: date | None) -> datetime | None:
    """When `day` begins in the subscription's workspace."""
    return local_midnight(day, subscription.workspace.timezone) if day is not None else None


def set_next_billing(subscription: Subscription, day: date | None) -> None:
    """Its next billing is `day`; the cycle acts on it when `cycle_day` begins. Call it
    again (with its next billing) when its status or cancellation changes."""
    subscription.next_billing = day
    subscription.next_billing_at = local_midnight_or_none(
        subscription, cycle_day(subscription, day)
    )
