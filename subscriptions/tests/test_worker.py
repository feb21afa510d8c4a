"""G4 and G12 end to end: a real Celery worker with beat on Redis and PostgreSQL bills
the due cycles on the test clock and emails the invoices, each period once, while beat
keeps firing."""

import time

import pytest
from django.db.models import Count

from billing.models import Workspace
from subscriptions.choices import CollectionStatus
from subscriptions.models import BilledPeriod
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at
from tests.workers import require_worker_services, running_worker, use_test_broker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _wait_for(predicate, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_beat_bills_due_cycles_once_and_collects_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    require_worker_services()
    with use_test_broker():
        start = santiago(2026, 1, 10, 9, 0)
        workspace = workspace_at(start)
        plan, customer = plan_of(workspace), customer_of(workspace)
        subscriptions = [
            subscribe(workspace, start, [(plan, 1)], customer=customer) for _ in range(6)
        ]
        # Two months pass on the test clock: cycles 2 (Feb 10) and 3 (Mar 10) are due.
        Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=santiago(2026, 3, 12, 9, 0))
        periods = BilledPeriod.objects.filter(subscription__workspace=workspace)

        with running_worker(
            tmp_path, beat=True, concurrency=3,
            extra_env={"BILLING_CYCLE_INTERVAL_SECONDS": "0.5"},
        ):  # fmt: skip
            _wait_for(lambda: periods.count() == 18)
            _wait_for(
                lambda: not periods.exclude(collection_status=CollectionStatus.SUCCEEDED).exists()
            )
            time.sleep(3)  # beat keeps firing: nothing more may be billed

    assert periods.count() == 18
    per_period = periods.values("subscription", "period_start").annotate(n=Count("id"))
    assert {row["n"] for row in per_period} == {1}
    for subscription in subscriptions:
        subscription.refresh_from_db()
        assert subscription.cycles_billed == 3
        assert str(subscription.next_billing) == "2026-04-10"
    assert sorted(periods.values_list("invoice__number", flat=True)) == list(range(1, 19))
