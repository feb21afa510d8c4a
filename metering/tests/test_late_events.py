"""An event is `late` when a meter that counts it has already had the period of its
timestamp invoiced, on the subscription billed by that meter: not when another of the
customer's subscriptions was billed, nor when no meter counts it."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from billing.clock import clock_now
from billing.models import Workspace
from invoices.models import Invoice
from metering.models import Meter
from metering.services.events import events_ingest
from subscriptions.services import cycles
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db

START = santiago(2026, 1, 10, 9, 0)


def _move_clock(workspace: Workspace, at: datetime) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at


def _bill(workspace: Workspace, at: datetime) -> None:
    _move_clock(workspace, at)
    cycles.cycle_run(clock=clock_now, now=at)


def _send(workspace: Workspace, customer: str, *events: tuple[str, str, datetime, dict]) -> Any:
    return events_ingest(
        workspace=workspace, test_mode=True, now=clock_now(workspace=workspace, test_mode=True),
        events=[{"event_id": event_id, "event_name": name, "customer": customer,
                 "timestamp": at.isoformat(), "properties": properties}
                for event_id, name, at, properties in events],
    )  # fmt: skip


def _metered(workspace: Workspace, event_name: str, **meter: Any) -> Any:
    meter_row = Meter.objects.create(
        workspace=workspace, test_mode=True, name=event_name, event_name=event_name,
        aggregation="count", **meter,
    )  # fmt: skip
    return plan_of(workspace, 2, name=event_name, usage_scheme="metered", meter_id=meter_row.id)


def _usage_quantity(subscription: Any, period_start: str) -> Decimal:
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start=period_start)
    return invoice.lines.get(line_type="usage").quantity


def test_another_subscription_s_cycle_does_not_make_an_event_late():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    subscribe(workspace, START, [(plan_of(workspace, 10000, name="Fee"), 1)], customer=customer)
    later = santiago(2026, 1, 25, 9, 0)
    _move_clock(workspace, later)
    calls = subscribe(workspace, later, [(_metered(workspace, "call"), 1)], customer=customer)
    _bill(workspace, santiago(2026, 2, 10, 9, 0))  # the fee's cycle, not the calls'

    report = _send(workspace, customer.id, ("c1", "call", santiago(2026, 2, 5), {}))

    assert [(r.status, r.late) for r in report.results] == [("accepted", False)]
    _bill(workspace, santiago(2026, 2, 25, 9, 0))
    assert _usage_quantity(calls, "2026-02-25") == 1  # billed after all


def test_an_event_no_meter_counts_is_not_late():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    subscribe(workspace, START, [(plan_of(workspace, 10000, name="Fee"), 1),
                                 (_metered(workspace, "call"), 1)], customer=customer)  # fmt: skip
    _bill(workspace, santiago(2026, 2, 10, 9, 0))

    report = _send(
        workspace, customer.id,
        ("counted", "call", santiago(2026, 1, 20), {}),
        ("uncounted", "other", santiago(2026, 1, 20), {}),
    )  # fmt: skip

    assert [(r.event_id, r.late) for r in report.results] == [
        ("counted", True),
        ("uncounted", False),
    ]
    assert report.late == 1


def test_an_event_the_meter_s_filters_leave_out_is_not_late():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    filters = [{"key": "region", "values": ["eu", "1"]}]
    subscribe(workspace, START, [(plan_of(workspace, 10000, name="Fee"), 1),
                                 (_metered(workspace, "call", filters=filters), 1)],
              customer=customer)  # fmt: skip
    _bill(workspace, santiago(2026, 2, 10, 9, 0))
    day = santiago(2026, 1, 20)

    report = _send(
        workspace, customer.id,
        ("eu", "call", day, {"region": "eu"}),
        ("us", "call", day, {"region": "us"}),
        ("none", "call", day, {}),
        ("number", "call", day, {"region": 1}),
        # The number 1 written 1.0 (read as a Decimal) is the value 1; the text "1.0" is not.
        ("written", "call", day, {"region": Decimal("1.0")}),
        ("text", "call", day, {"region": "1.0"}),
    )  # fmt: skip

    assert [(r.event_id, r.late) for r in report.results] == [
        ("eu", True),
        ("us", False),
        ("none", False),
        ("number", True),
        ("written", True),
        ("text", False),
    ]


def test_an_event_is_late_only_up_to_the_period_its_meter_has_invoiced():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    subscribe(workspace, START, [(plan_of(workspace, 10000, name="Fee"), 1),
                                 (_metered(workspace, "call"), 1)], customer=customer)  # fmt: skip
    _bill(workspace, santiago(2026, 2, 10, 9, 0))

    report = _send(
        workspace, customer.id,
        ("before", "call", santiago(2026, 1, 5), {}),  # before the subscription: never billed
        ("billed", "call", santiago(2026, 2, 9, 23, 59), {}),
        ("open", "call", santiago(2026, 2, 10), {}),  # the running period
    )  # fmt: skip

    assert [(r.event_id, r.late) for r in report.results] == [
        ("before", False),
        ("billed", True),
        ("open", False),
    ]
