"""Which subscriptions are due: each on its tenant's clock, found through the due index."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from billing.tests.factories import WorkspaceFactory
from subscriptions.models import Subscription
from subscriptions.selectors import DUE_ORDER, subscriptions_due, subscriptions_due_ids
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _tenants() -> list[Subscription]:
    """Subscriptions just due and just not due, in live mode, in test mode with no test
    clock, and on test clocks set ahead of the real time and behind it."""
    ahead = WorkspaceFactory(test_clock_at=NOW + timedelta(days=40))
    behind = WorkspaceFactory(test_clock_at=NOW - timedelta(days=40))
    plain = WorkspaceFactory()
    subscriptions = []
    for workspace, test_mode, clock in [
        (plain, False, NOW), (plain, True, NOW), (ahead, False, NOW),
        (ahead, True, ahead.test_clock_at), (behind, True, behind.test_clock_at),
    ]:  # fmt: skip
        for offset in (-HOUR, timedelta(0), HOUR):
            subscriptions.append(
                SubscriptionFactory(
                    workspace=workspace, test_mode=test_mode, next_billing_at=clock + offset
                )
            )
    # Due by its time, but not active.
    SubscriptionFactory(workspace=plain, next_billing_at=NOW - HOUR, status="paused")
    return subscriptions


def _on_its_clock(subscription: Subscription) -> bool:
    clock = subscription.workspace.test_clock_at if subscription.test_mode else None
    assert subscription.next_billing_at is not None
    return subscription.next_billing_at <= (clock or NOW)


def test_each_subscription_is_due_on_its_tenants_clock() -> None:
    subscriptions = _tenants()

    due = subscriptions_due_ids(now=NOW, limit=100)

    expected = sorted(
        (s for s in subscriptions if _on_its_clock(s)), key=lambda s: (s.next_billing_at, s.pk)
    )
    assert due == [s.pk for s in expected]
    assert len(due) == 10  # two of each clock's three, none of the paused one


@pytest.mark.postgresql
def test_the_due_read_ranges_over_the_due_index() -> None:
    """Without a bound on `next_billing_at` alone, the read of every tenant's due
    subscriptions scans the whole table, those due months from now included."""
    _tenants()
    read = subscriptions_due(now=NOW).order_by(*DUE_ORDER).values_list("id")[:500]
    sql, params = read.query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "subscription_due_idx" in plan
    assert "Index Cond: (next_billing_at <=" in plan


@pytest.mark.postgresql
def test_a_batch_reads_the_first_due_rows_off_the_due_index_without_sorting_them() -> None:
    """A batch's read stops after its rows only when the index gives them in billing
    order: sorted after the read, every row due is read to find the first few."""
    _tenants()
    read = subscriptions_due(now=NOW).order_by(*DUE_ORDER).values_list("id")[:500]
    sql, params = read.query.sql_with_params()

    with connection.cursor() as cursor:
        for planner_method in ("seqscan", "sort", "incremental_sort", "hashjoin", "mergejoin"):
            cursor.execute(f"SET LOCAL enable_{planner_method} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "subscription_due_idx" in plan
    assert "Sort Key: subscriptions_subscription.next_billing_at" not in plan


def test_a_held_subscription_is_due_only_to_cancel_at_period_end() -> None:
    workspace = WorkspaceFactory()
    due_at = NOW - HOUR
    held = {
        (status, cancel_at_period_end): SubscriptionFactory(
            workspace=workspace, next_billing_at=due_at, status=status,
            cancel_at_period_end=cancel_at_period_end,
        )
        for status in ("paused", "needs_attention", "cancelled", "finalized")
        for cancel_at_period_end in (False, True)
    }  # fmt: skip

    due = subscriptions_due_ids(now=NOW, limit=100)

    assert sorted(due) == sorted([held["paused", True].pk, held["needs_attention", True].pk])
