"""A cancellation at period end scheduled while a subscription needs attention ends it at
the end of the period running today, and the periods held meanwhile are still billed,
each once: when it resumes, or when the cancellation takes effect (as a Stripe
subscription past due keeps the invoices of the periods that came due). Scheduling or
taking back the cancellation never moves its next billing past them (rules.md §6)."""

from datetime import date, datetime

import pytest

from subscriptions import services
from subscriptions.choices import NeedsAttentionReason, SubscriptionStatus
from subscriptions.models import Subscription
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import invoice_rows, plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db

HELD_AND_RUNNING = [
    (date(2026, 1, 15), date(2026, 2, 15)),
    (date(2026, 2, 15), date(2026, 3, 15)),
    (date(2026, 3, 15), date(2026, 4, 15)),
]


def _flagged_then_cancelled_on_mar_20() -> Subscription:
    """Billed through Feb 15, flagged on Jan 20, cancelled at period end on Mar 20: Feb 15
    and Mar 15 came due while it needed attention."""
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, 10000), 1)])
    flagged_at = santiago(2026, 1, 20, 9, 0)
    services.subscription_flag(
        subscription_id=subscription.id, reason=NeedsAttentionReason.GATEWAY_ISSUE,
        description="card_declined", now=flagged_at,
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=flagged_at, to=_MAR_20)
    subscription.refresh_from_db()
    scheduled = services.subscription_cancel(
        subscription=subscription, now=_MAR_20, at_period_end=True
    )
    assert (scheduled.status, scheduled.cancel_at_period_end) == ("needs_attention", True)
    assert scheduled.next_billing == date(2026, 2, 15)  # not moved past the held periods
    assert scheduled.status_description == "card_declined"
    return scheduled


_MAR_20 = santiago(2026, 3, 20, 9, 0)


def _advance(subscription: Subscription, frm: datetime, to: datetime) -> Subscription:
    clock_advance(workspace=subscription.workspace, test_mode=True, now=frm, to=to)
    subscription.refresh_from_db()
    return subscription


def _periods(subscription: Subscription) -> list[tuple[date, date]]:
    return [(row[2], row[3]) for row in invoice_rows(subscription)]


def test_held_periods_are_billed_when_the_cancellation_takes_effect() -> None:
    subscription = _flagged_then_cancelled_on_mar_20()
    # Nothing is billed before the end of the period running today.
    assert _advance(subscription, _MAR_20, santiago(2026, 4, 14, 9, 0)).status == (
        SubscriptionStatus.NEEDS_ATTENTION
    )
    assert len(_periods(subscription)) == 1

    ended = _advance(subscription, santiago(2026, 4, 14, 9, 0), santiago(2026, 4, 20, 9, 0))

    assert ended.status == SubscriptionStatus.CANCELLED
    assert ended.cancelled_at == santiago(2026, 4, 15, 0, 0)
    assert ended.next_billing is None
    assert _periods(ended) == HELD_AND_RUNNING


def test_resumed_before_it_ends_it_bills_the_held_periods_and_still_cancels() -> None:
    subscription = _flagged_then_cancelled_on_mar_20()

    resumed = services.subscription_resume(subscription=subscription, now=_MAR_20)

    assert (resumed.status, resumed.next_billing) == ("active", date(2026, 2, 15))
    assert resumed.status_description == "Cancels on 2026-04-15."
    ended = _advance(resumed, _MAR_20, santiago(2026, 4, 20, 9, 0))
    assert (ended.status, ended.cancelled_at) == ("cancelled", santiago(2026, 4, 15, 0, 0))
    assert _periods(ended) == HELD_AND_RUNNING


def test_taken_back_and_resumed_it_bills_the_held_periods_and_goes_on() -> None:
    subscription = _flagged_then_cancelled_on_mar_20()

    kept = services.subscription_update(
        subscription=subscription, now=_MAR_20, cancel_at_period_end=False
    )

    assert (kept.cancel_at_period_end, kept.next_billing) == (False, date(2026, 2, 15))
    # Still needing attention, it bills nothing until resumed.
    assert len(_periods(_advance(kept, _MAR_20, santiago(2026, 4, 20, 9, 0)))) == 1
    resumed = services.subscription_resume(subscription=kept, now=santiago(2026, 4, 20, 9, 0))
    assert resumed.next_billing == date(2026, 2, 15)
    after = _advance(resumed, santiago(2026, 4, 20, 9, 0), santiago(2026, 4, 21, 9, 0))
    assert after.status == SubscriptionStatus.ACTIVE
    assert after.next_billing == date(2026, 5, 15)
    assert _periods(after) == [*HELD_AND_RUNNING, (date(2026, 4, 15), date(2026, 5, 15))]
