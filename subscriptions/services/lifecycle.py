"""A subscription's status over its life: pause, resume, cancel, and needing attention."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction

from billing.clock import workspace_today
from billing.errors import DomainError, InvalidInput
from subscriptions.calendar import boundary_after
from subscriptions.choices import (
    HELD_STATUSES,
    CancelReason,
    NeedsAttentionReason,
    PausedReason,
    SubscriptionStatus,
)
from subscriptions.models import PausedSpan, Subscription
from subscriptions.next_invoice import resumed_billing
from subscriptions.services.attention import subscription_flag
from subscriptions.services.common import (
    MAX_AHEAD,
    describe,
    local_midnight_or_none,
    lock,
    record,
    set_next_billing,
    transition,
)
from subscriptions.services.cycles import final_usage_bill, held_periods_bill
from subscriptions.services.proration import credit_unused_time


@transaction.atomic
def subscription_pause(
    *,
    subscription: Subscription,
    now: datetime,
    paused_reason: str = PausedReason.NOT_SPECIFIED,
    pause_until: date | None = None,
) -> Subscription:
    """Stop billing until resumed, or until `pause_until` begins in the workspace."""
    subscription = lock(subscription)
    transition(subscription, SubscriptionStatus.PAUSED)
    today = workspace_today(subscription.workspace, now)
    if pause_until is not None and pause_until <= today:
        raise InvalidInput({"pause_until": ["A pause ends after today."]})
    if pause_until is not None and pause_until > today + MAX_AHEAD:
        raise InvalidInput({"pause_until": ["A pause ends within five years."]})
    subscription.paused_at = now
    subscription.paused_reason = paused_reason
    subscription.pause_until = pause_until
    subscription.resume_at = local_midnight_or_none(subscription, pause_until)
    set_next_billing(subscription, subscription.next_billing)
    subscription.save()
    PausedSpan.objects.create(subscription=subscription, paused_at=now)
    record(subscription, "paused")
    return subscription


def _end_pause(subscription: Subscription, at: datetime) -> None:
    """The pause running ends at `at`: usage from then on is billed again."""
    PausedSpan.objects.filter(subscription=subscription, resumed_at__isnull=True).update(
        resumed_at=at
    )


def _resume(subscription: Subscription, day: date, at: datetime) -> None:
    """A paused subscription's billing continues at the first boundary on or after `day`
    (which begins at or before `at`): paused periods are never billed afterwards, nor the
    usage of the pause. One that needed attention kept its service: the periods that came
    due meanwhile are billed by the next cycles, one each, as a Stripe subscription past
    due is still invoiced."""
    was_paused = subscription.status == SubscriptionStatus.PAUSED
    _end_pause(subscription, at)
    transition(subscription, SubscriptionStatus.ACTIVE)
    subscription.paused_at = subscription.pause_until = subscription.resume_at = None
    subscription.paused_reason = subscription.needs_attention_reason = None
    subscription.needs_attention_at = None
    next_billing = subscription.next_billing
    if was_paused and next_billing is not None and next_billing < day:
        next_billing = resumed_billing(subscription, day)
    set_next_billing(subscription, next_billing)
    subscription.save()
    record(subscription, "resumed")


@transaction.atomic
def subscription_resume(*, subscription: Subscription, now: datetime) -> Subscription:
    """Resume a paused subscription, or one that needed attention once it is fixed."""
    subscription = lock(subscription)
    _resume(subscription, workspace_today(subscription.workspace, now), now)
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
        assert subscription.pause_until is not None and subscription.resume_at is not None
        _resume(subscription, subscription.pause_until, subscription.resume_at)
        resumed += 1
    return resumed


def cancellation_withdraw(subscription: Subscription) -> None:
    """Take back a cancellation at period end before it takes effect (Stripe's
    `cancel_at_period_end: false`): the subscription bills on as before, from its next
    billing (periods held while it needs attention included). The caller holds the lock
    and saves it."""
    if not subscription.cancel_at_period_end:
        return
    subscription.cancel_at_period_end = False
    subscription.cancel_at = None
    subscription.cancel_reason = None
    set_next_billing(subscription, subscription.next_billing)
    describe(subscription)


def _period_running(subscription: Subscription, today: date) -> bool:
    """A period runs today that a cancellation at its end can wait for: one billed, or
    the trial (Stripe's trial is the subscription's current period: cancelled at period
    end, it ends when the trial does, and no invoice is issued)."""
    if subscription.next_billing is None:
        return False
    if subscription.cycles_billed:
        return True
    trial_end = subscription.trial_end
    return trial_end is not None and subscription.date_start <= today < trial_end


@transaction.atomic
def subscription_cancel(
    *,
    subscription: Subscription,
    now: datetime,
    cancel_reason: str = CancelReason.NOT_SPECIFIED,
    at_period_end: bool = False,
    prorate: bool = False,
) -> Subscription:
    """Cancel now, or at the end of the period already billed (it is then not billed
    again, and cancels when its next billing comes), whether or not it is paused or needs
    attention then. Held past that period, it cancels at the end of the period running
    today: the periods paused until then are never billed, but those that came due while
    it needed attention still are, one each, when it resumes or else when it cancels.
    One in its trial cancels when the trial ends, unbilled; one not yet started has no
    period running and cancels now. Cancelled now while it
    needs attention, it first bills the periods held until today, one invoice each.

    Metered lines bill in arrears, so their usage is never left behind: cancelled now, a
    final invoice bills the usage from the running period's start to now (as Stripe's
    `invoice_now`); at period end, the cycle that cancels bills the period's usage.

    `prorate` (now only) credits the unused days of the billed period running today with
    credit notes on the invoices that billed them (`credit_unused_time`); usage is not
    prorated, it is billed as counted."""
    if prorate and at_period_end:
        raise InvalidInput(
            {"prorate": ["Nothing is left to prorate at period end: the period billed is used "
                         "in full. Send one of prorate and at_period_end."]}
        )  # fmt: skip
    subscription = lock(subscription)
    if subscription.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FINALIZED):
        raise DomainError(
            "subscription_invalid_transition",
            f"Subscription {subscription.id} is {subscription.status} already.",
        )
    subscription.cancel_reason = cancel_reason
    today = workspace_today(subscription.workspace, now)
    if at_period_end and _period_running(subscription, today):
        assert subscription.next_billing is not None
        cancel_at = subscription.next_billing
        if subscription.status in HELD_STATUSES and cancel_at <= today:
            # Held past the period it paid for: the period running today ends it.
            cancel_at = boundary_after(subscription.billing_anchor, subscription.frequency, today)
        subscription.cancel_at_period_end = True
        subscription.cancel_at = cancel_at
        if subscription.status == SubscriptionStatus.PAUSED:
            # Paused periods are never billed: its next billing is its end.
            set_next_billing(subscription, cancel_at)
        else:
            # The periods due from its next billing on are still billed.
            set_next_billing(subscription, subscription.next_billing)
        describe(subscription)  # one that needs attention keeps saying why
        subscription.save()
        # `subscription.cancelled` is recorded when it takes effect; now it is a change.
        record(subscription, "updated")
        return subscription
    # Periods held while it needed attention are owed, as they would be at period end.
    held_periods_bill(subscription=subscription, now=now)
    if subscription.status == SubscriptionStatus.FINALIZED:
        return subscription  # they were its last cycles: it has ended, nothing is left to cancel
    transition(subscription, SubscriptionStatus.CANCELLED)
    _end_pause(subscription, now)
    subscription.cancelled_at = now
    set_next_billing(subscription, None)
    subscription.save()
    final_usage_bill(subscription=subscription, now=now)
    if prorate:
        credit_unused_time(subscription, now)
    record(subscription, "cancelled")
    return subscription


def subscription_tax_agency_failed(*, document: Any, now: datetime) -> None:
    """The tax agency rejected a document (a TAX_AGENCY_FAILURE_HOOKS entry): when it is a
    subscription's invoice, the subscription needs attention (`biller_issue`)."""
    subscription_id = getattr(document, "subscription_id", None)
    if not subscription_id:
        return
    # Every failure carries its reasons (a rejection, a timeout, an unreachable agency), as
    # invoices.services.filing stores them: [{"code", "field", "message"}].
    reasons = (document.tax_agency or {}).get("reasons") or []
    why = "; ".join(
        f"{r.get('message', '')} ({r.get('code', '')})" for r in reasons if isinstance(r, dict)
    )
    subscription_flag(
        subscription_id=subscription_id,
        reason=NeedsAttentionReason.BILLER_ISSUE,
        description=f"The tax agency did not accept invoice {document.pk}: {why}",
        now=now,
    )
