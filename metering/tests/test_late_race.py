"""G5 while a cycle runs: an event stored between the cycle's read of the usage and the
commit of its invoice is answered `late`, never lost (neither billed nor late)."""

import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from billing.clock import clock_now
from billing.models import Workspace
from invoices.models import Invoice
from metering.models import Meter
from metering.services.events import events_ingest
from subscriptions.services import cycles
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

START = santiago(2026, 1, 10, 9, 0)
DUE = santiago(2026, 2, 10, 9, 0)
WAIT = 20  # seconds: how long a step may take before the test fails


def _send(workspace: Workspace, customer: str, event_id: str, at: datetime) -> Any:
    try:
        return events_ingest(
            workspace=workspace, test_mode=True, now=DUE,
            events=[{"event_id": event_id, "event_name": "calls", "customer": customer,
                     "timestamp": at.isoformat()}],
        )  # fmt: skip
    finally:
        connection.close()


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])


def _in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = target()
        except BaseException as exc:  # re-raised by the test
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_an_event_stored_while_a_cycle_bills_its_period_is_late_not_lost(monkeypatch):
    workspace = workspace_at(START)
    meter = Meter.objects.create(workspace=workspace, test_mode=True, name="Calls",
                                 event_name="calls", aggregation="count")  # fmt: skip
    calls = plan_of(workspace, 2, name="Calls", usage_scheme="metered", meter_id=meter.id)
    customer = customer_of(workspace)
    subscription = subscribe(
        workspace, START, [(plan_of(workspace, 10000, name="Base"), 1), (calls, 1)],
        customer=customer,
    )  # fmt: skip
    _send(workspace, customer.id, "before", santiago(2026, 1, 20))
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=DUE)

    # The cycle stops right after reading the usage, until the event has been sent.
    usage_read, go_on = threading.Event(), threading.Event()
    read_usage = cycles._usage

    def usage_then_pause(*args: Any, **kwargs: Any) -> dict[str, Decimal]:
        usage = read_usage(*args, **kwargs)
        usage_read.set()
        assert go_on.wait(WAIT)
        return usage

    monkeypatch.setattr(cycles, "_usage", usage_then_pause)

    def run_cycle() -> int:
        try:
            return cycles.cycle_run(clock=clock_now, now=DUE)
        finally:
            connection.close()

    cycle, cycle_outcome = _in_thread(run_cycle)
    assert usage_read.wait(WAIT)
    ingest, ingest_outcome = _in_thread(
        lambda: _send(workspace, customer.id, "during", santiago(2026, 1, 25))
    )
    # The event is sent while the cycle holds its usage uncommitted: it either ends (and
    # must then be late) or waits for the cycle.
    deadline = time.monotonic() + WAIT
    while ingest.is_alive() and not _waiting_on_a_lock():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go_on.set()
    cycle.join(WAIT)
    ingest.join(WAIT)

    assert "error" not in cycle_outcome and "error" not in ingest_outcome
    assert cycle_outcome["value"] == 1
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    billed = invoice.lines.get(line_type="usage").quantity
    [result] = ingest_outcome["value"].results
    assert (result.status, billed) == ("accepted", 1)  # "before" only: usage was read
    assert result.late is True
