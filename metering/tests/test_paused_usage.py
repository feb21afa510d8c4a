"""Usage recorded while a subscription is paused is never billed (rules.md §6: no
back-billing of paused periods); usage while it runs is billed as ever."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from billing.clock import clock_now
from billing.models import Workspace
from invoices.models import Invoice
from metering.models import Meter
from metering.services.events import events_ingest
from subscriptions import services
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services import cycles
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at
from subscriptions.upcoming import subscription_upcoming

D = Decimal
START = santiago(2026, 1, 10, 9, 0)
PAUSED = santiago(2026, 1, 25, 12, 0)
RESUMED = santiago(2026, 2, 20, 9, 0)
DUE = santiago(2026, 3, 10, 9, 0)


def _move_clock(workspace: Workspace, at: datetime) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at


def _send(workspace: Workspace, customer: str, *events: tuple[str, datetime, int]) -> None:
    events_ingest(
        workspace=workspace, test_mode=True, now=clock_now(workspace=workspace, test_mode=True),
        events=[{"event_id": event_id, "event_name": "tokens", "customer": customer,
                 "timestamp": at.isoformat(), "properties": {"tokens": tokens}}
                for event_id, at, tokens in events],
    )  # fmt: skip


def _setup(aggregation: str = "sum") -> tuple[Workspace, Subscription, Any]:
    workspace = workspace_at(START)
    meter = Meter.objects.create(
        workspace=workspace, test_mode=True, name="Tokens", event_name="tokens",
        aggregation=aggregation, field="tokens",
    )  # fmt: skip
    fixed = plan_of(workspace, 10000, name="Base")
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered", meter_id=meter.id)
    customer = customer_of(workspace)
    subscription = subscribe(workspace, START, [(fixed, 1), (metered, 1)], customer=customer)
    return workspace, subscription, customer


def _usage_line(invoice: Invoice) -> tuple[Decimal, Decimal]:
    line = invoice.lines.get(name="Tokens (usage)")
    return line.quantity, line.total


def _pause_and_resume(workspace: Workspace, subscription: Subscription) -> Subscription:
    _move_clock(workspace, PAUSED)
    services.subscription_pause(subscription=subscription, now=PAUSED)
    _move_clock(workspace, RESUMED)
    subscription.refresh_from_db()
    return services.subscription_resume(subscription=subscription, now=RESUMED)


@pytest.mark.django_db
def test_usage_of_paused_time_is_not_billed_after_resume():
    workspace, subscription, customer = _setup()
    subscription = _pause_and_resume(workspace, subscription)
    assert subscription.next_billing.isoformat() == "2026-03-10"
    _move_clock(workspace, DUE)
    _send(workspace, customer.id,
          ("before", santiago(2026, 1, 20), 30),  # active, in the period billed ahead
          ("paused-1", santiago(2026, 1, 26), 100),  # paused
          ("paused-2", santiago(2026, 2, 15), 400),  # paused, in a period never billed
          ("after", santiago(2026, 2, 25), 5))  # active again  # fmt: skip

    assert cycles.cycle_run(clock=clock_now, now=DUE) == 1

    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-03-10")
    # 30 + 5 tokens at 2: the 500 of the paused time are not billed.
    assert _usage_line(invoice) == (D(35), D(70))
    assert invoice.amount == D(10070)


@pytest.mark.django_db
def test_the_upcoming_invoice_leaves_paused_usage_out_as_the_cycle_does():
    workspace, subscription, customer = _setup()
    subscription = _pause_and_resume(workspace, subscription)
    _move_clock(workspace, santiago(2026, 3, 1))
    _send(workspace, customer.id, ("before", santiago(2026, 1, 20), 30),
          ("paused", santiago(2026, 2, 1), 100), ("after", santiago(2026, 2, 25), 5))  # fmt: skip

    upcoming = subscription_upcoming(subscription=subscription, now=santiago(2026, 3, 1))
    usage = [line for line in upcoming.lines if line.name == "Tokens (usage)"]
    assert [(line.quantity, line.total) for line in usage] == [(D(35), D(70))]


@pytest.mark.django_db
def test_a_max_meter_ignores_a_peak_reached_while_paused():
    workspace, subscription, customer = _setup(aggregation="max")
    _pause_and_resume(workspace, subscription)
    _move_clock(workspace, DUE)
    _send(workspace, customer.id, ("before", santiago(2026, 1, 20), 30),
          ("paused", santiago(2026, 2, 1), 900), ("after", santiago(2026, 2, 25), 12))  # fmt: skip
    cycles.cycle_run(clock=clock_now, now=DUE)
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-03-10")
    assert _usage_line(invoice) == (D(30), D(60))


@pytest.mark.django_db
def test_cancelled_now_while_paused_the_final_invoice_bills_the_usage_before_the_pause():
    workspace, subscription, customer = _setup()
    _move_clock(workspace, PAUSED)
    services.subscription_pause(subscription=subscription, now=PAUSED)
    cancelled_at = santiago(2026, 2, 5, 9, 0)
    _move_clock(workspace, cancelled_at)
    _send(workspace, customer.id, ("before", santiago(2026, 1, 20), 30),
          ("paused", santiago(2026, 2, 1), 100))  # fmt: skip
    subscription.refresh_from_db()

    services.subscription_cancel(subscription=subscription, now=cancelled_at)

    final = BilledPeriod.objects.get(subscription=subscription, kind="final").invoice
    assert _usage_line(final) == (D(30), D(60))


@pytest.mark.django_db
def test_a_pause_that_ends_by_itself_bills_the_usage_from_its_end():
    workspace, subscription, customer = _setup()
    _move_clock(workspace, PAUSED)
    services.subscription_pause(subscription=subscription, now=PAUSED, pause_until=RESUMED.date())
    _move_clock(workspace, DUE)
    _send(workspace, customer.id, ("paused", santiago(2026, 2, 19, 23, 59), 100),
          ("after", santiago(2026, 2, 20, 0, 0), 5))  # fmt: skip
    assert _resume_due_and_bill(workspace, DUE) == 1
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-03-10")
    assert _usage_line(invoice) == (D(5), D(10))


def _resume_due_and_bill(workspace: Workspace, to: datetime) -> int:
    services.subscriptions_resume_due(
        subscription_ids=list(
            Subscription.objects.filter(workspace=workspace).values_list("pk", flat=True)
        ),
        now=to,
    )
    return cycles.cycle_run(clock=clock_now, now=to)
