"""G4: a period is billed at most once, whoever runs the cycle and however.

Real transactions on PostgreSQL, from threads with their own connections: two cycle runs
at once, a crash in the middle of a run then a re-run, and `process` racing beat.
"""

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from billing.clock import clock_now, real_now
from billing.errors import DomainError
from billing.models import Workspace
from invoices.models import Invoice
from subscriptions import services
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services import cycles
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SUBSCRIPTIONS = 30


def _due_workspace(count: int = SUBSCRIPTIONS) -> tuple[Workspace, list[Subscription]]:
    """`count` subscriptions billed once on Jan 10, with the clock moved to Feb 10, when
    their second cycle is due."""
    start = santiago(2026, 1, 10, 9, 0)
    workspace = workspace_at(start)
    plan = plan_of(workspace)
    customer = customer_of(workspace)
    subscriptions = [
        subscribe(workspace, start, [(plan, 1)], customer=customer) for _ in range(count)
    ]
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=santiago(2026, 2, 10, 9, 0))
    return workspace, subscriptions


def _in_threads(*targets: Callable[[], Any]) -> list[BaseException]:
    start = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def run(target: Callable[[], Any]) -> None:
        try:
            start.wait()
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def _beat() -> int:
    return cycles.cycle_run(clock=clock_now, now=real_now(), batch_size=7)


def _assert_billed_once(workspace: Workspace, cycles_each: int) -> None:
    periods = BilledPeriod.objects.filter(subscription__workspace=workspace)
    per_sub = periods.values("subscription").annotate(n=Count("id")).values_list("n", flat=True)
    assert sorted(set(per_sub)) == [cycles_each]
    per_period = periods.values("subscription", "period_start").annotate(n=Count("id"))
    assert {row["n"] for row in per_period} == {1}
    invoices = Invoice.objects.filter(workspace=workspace)
    assert invoices.count() == SUBSCRIPTIONS * cycles_each
    numbers = sorted(invoices.values_list("number", flat=True))
    assert numbers == list(range(1, SUBSCRIPTIONS * cycles_each + 1))  # gapless too


def test_two_cycle_runs_at_once_bill_each_period_once() -> None:
    workspace, _ = _due_workspace()
    errors = _in_threads(_beat, _beat, _beat)
    assert errors == []
    _assert_billed_once(workspace, cycles_each=2)
    assert set(
        BilledPeriod.objects.filter(cycle=2, subscription__workspace=workspace).values_list(
            "period_start", flat=True
        )
    ) == {date(2026, 2, 10)}


def test_a_crash_in_the_middle_of_a_run_then_a_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, _ = _due_workspace()
    real_issue = cycles._issue
    calls = {"n": 0}

    def crash_on_the_second_batch(batch: Any, *rest: Any) -> Any:
        calls["n"] += 1
        periods = real_issue(batch, *rest)  # invoices, lines and periods are inserted…
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # …and the process dies before commit
        return periods

    monkeypatch.setattr(cycles, "_issue", crash_on_the_second_batch)
    with pytest.raises(SystemExit):
        _beat()
    # The first batch (7) committed; the second rolled back with its numbers.
    assert BilledPeriod.objects.filter(subscription__workspace=workspace, cycle=2).count() == 7
    assert sorted(
        Invoice.objects.filter(workspace=workspace).values_list("number", flat=True)
    ) == list(range(1, SUBSCRIPTIONS + 8))
    monkeypatch.setattr(cycles, "_issue", real_issue)

    assert _beat() == SUBSCRIPTIONS - 7  # the re-run bills what is left, once
    assert _beat() == 0
    _assert_billed_once(workspace, cycles_each=2)


def _race_process_with_beat(
    monkeypatch: pytest.MonkeyPatch, target: Subscription, call: Callable[[Subscription], Any]
) -> dict[str, Any]:
    """Beat prices `target` holding its row lock while `call` (a process) asks for the
    same subscription; what each answered (or the error code `call` raised)."""
    locked, release = threading.Event(), threading.Event()
    real_advance = cycles._advance

    def slow_advance(subscription: Subscription, batch: Any, items: Any, usage: Any) -> None:
        # Beat holds the row lock while it prices; process must wait for it.
        if subscription.pk == target.pk and threading.current_thread().name == "beat":
            locked.set()
            release.wait(10)
        real_advance(subscription, batch, items, usage)

    monkeypatch.setattr(cycles, "_advance", slow_advance)
    outcome: dict[str, Any] = {}

    def beat() -> None:
        try:
            outcome["beat"] = _beat()
        finally:
            connection.close()

    def process() -> None:
        locked.wait(10)
        fresh = Subscription.objects.get(pk=target.pk)
        timer = threading.Timer(0.5, release.set)  # let process block on the lock first
        timer.start()
        try:
            outcome["process"] = call(fresh)
        except DomainError as exc:
            outcome["process"] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=beat, name="beat"), threading.Thread(target=process)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcome


def test_process_racing_beat_bills_the_period_once(monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, subscriptions = _due_workspace()

    def process(subscription: Subscription) -> str:
        services.subscription_process(subscription=subscription, now=santiago(2026, 2, 10, 9, 0))
        return "billed"

    outcome = _race_process_with_beat(monkeypatch, subscriptions[0], process)

    assert outcome == {"beat": SUBSCRIPTIONS, "process": "subscription_not_due"}
    _assert_billed_once(workspace, cycles_each=2)


def test_process_first_then_beat_bills_the_period_once() -> None:
    workspace, subscriptions = _due_workspace()
    services.subscription_process(subscription=subscriptions[0], now=santiago(2026, 2, 10, 9, 0))
    assert _beat() == SUBSCRIPTIONS - 1
    _assert_billed_once(workspace, cycles_each=2)


def test_process_as_piriod_racing_beat_returns_the_period_beat_billed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace, subscriptions = _due_workspace()

    def process(subscription: Subscription) -> tuple[int, date]:
        period = services.subscription_process_current(
            subscription=subscription, now=santiago(2026, 2, 10, 9, 0)
        )
        return (period.cycle, period.period_start)

    outcome = _race_process_with_beat(monkeypatch, subscriptions[0], process)

    assert outcome == {"beat": SUBSCRIPTIONS, "process": (2, date(2026, 2, 10))}
    _assert_billed_once(workspace, cycles_each=2)


def test_process_as_piriod_twice_then_beat_bills_the_period_once() -> None:
    workspace, subscriptions = _due_workspace()
    now = santiago(2026, 2, 10, 9, 0)
    first = services.subscription_process_current(subscription=subscriptions[0], now=now)
    second = services.subscription_process_current(subscription=subscriptions[0], now=now)
    assert (first.cycle, first.period_start) == (second.cycle, second.period_start)
    assert _beat() == SUBSCRIPTIONS - 1
    _assert_billed_once(workspace, cycles_each=2)
