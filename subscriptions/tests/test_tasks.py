"""Beat's billing sweep queues each due subscription once while its batch is in flight."""

from datetime import timedelta

import pytest

from billing.clock import real_now
from subscriptions import tasks
from subscriptions.models import Subscription
from subscriptions.services.cycles import cycle_claim_due
from subscriptions.tests.helpers import plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db


def _three_periods_behind() -> Subscription:
    """A subscription billed on Jan 15 whose tenant's clock now reads Apr 20."""
    start = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, 10000), 1)])
    workspace.test_clock_at = santiago(2026, 4, 20, 9, 0)
    workspace.save(update_fields=["test_clock_at"])
    return subscription


@pytest.fixture
def queued(monkeypatch):  # type: ignore[no-untyped-def]
    """The batches beat hands the broker, kept here instead."""
    batches: list[list[str]] = []
    monkeypatch.setattr(
        tasks.bill_subscriptions, "delay", lambda subscription_ids: batches.append(subscription_ids)
    )
    return batches


def test_beat_firing_again_does_not_queue_a_batch_still_waiting(queued) -> None:  # type: ignore[no-untyped-def]
    subscription = _three_periods_behind()

    assert tasks.run_billing_cycles() == 1
    assert tasks.run_billing_cycles() == 0  # the first batch is not taken up yet

    assert queued == [[subscription.id]]


def test_billing_a_period_lets_beat_queue_the_next_one(queued) -> None:  # type: ignore[no-untyped-def]
    subscription = _three_periods_behind()
    tasks.run_billing_cycles()

    assert tasks.bill_subscriptions(subscription_ids=queued[0]) == 1  # Feb 15
    assert tasks.run_billing_cycles() == 1  # Mar 15 is due too

    assert queued == [[subscription.id], [subscription.id]]
    assert Subscription.objects.get(pk=subscription.pk).enqueued_at is not None


def test_a_batch_lost_on_the_way_is_queued_again_after_the_lease(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SWEEP_ENQUEUE_LEASE_SECONDS = 600
    subscription = _three_periods_behind()
    now = real_now()

    first = cycle_claim_due(now=now, limit=10)
    again = [cycle_claim_due(now=now + timedelta(seconds=60 * n), limit=10) for n in (1, 5, 9)]
    lost = cycle_claim_due(now=now + timedelta(seconds=601), limit=10)

    assert (first, again, lost) == ([subscription.id], [[], [], []], [subscription.id])
