"""Usage is never lost and never billed twice: a `set` usage record restarts its line's
usage, and a subscription cancelled now or at period end bills its last usage on a final
invoice."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from billing.clock import clock_now
from billing.models import Workspace
from invoices.models import CreditNote, Invoice
from metering.choices import UsageAction
from metering.models import Meter
from metering.services.events import events_ingest
from metering.services.records import usage_record_create
from subscriptions import services
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services import cycles
from subscriptions.tests.helpers import (
    customer_of,
    plan_of,
    santiago,
    subscribe,
    workspace_at,
)
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db

D = Decimal
START = santiago(2026, 1, 10, 9, 0)
DUE = santiago(2026, 2, 10, 9, 0)


def _move_clock(workspace: Workspace, at: datetime) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at


def _bill() -> int:
    return cycles.cycle_run(clock=clock_now, now=DUE)


def _lines(invoice: Invoice) -> list[tuple[str, str, Decimal, Decimal, str]]:
    return [
        (line.name, line.description, line.quantity, line.total, line.line_type)
        for line in invoice.lines.order_by("position")
    ]


def _send(workspace: Workspace, customer: str, *events: tuple[str, datetime, int]) -> Any:
    return events_ingest(
        workspace=workspace, test_mode=True, now=clock_now(workspace=workspace, test_mode=True),
        events=[{"event_id": event_id, "event_name": "tokens", "customer": customer,
                 "timestamp": at.isoformat(), "properties": {"tokens": tokens}}
                for event_id, at, tokens in events],
    )  # fmt: skip


def _metered_by_events(workspace: Workspace) -> Any:
    meter = Meter.objects.create(
        workspace=workspace, test_mode=True, name="Tokens", event_name="tokens",
        aggregation="sum", field="tokens",
    )  # fmt: skip
    return plan_of(workspace, 2, name="Tokens", usage_scheme="metered", meter_id=meter.id)


def _record(line: Any, quantity: str, at: datetime, action: str = UsageAction.INCREMENT) -> None:
    usage_record_create(
        workspace=line.subscription.workspace, test_mode=True, subscription_line=line,
        quantity=D(quantity), date_time=at, action=action, now=at,
    )  # fmt: skip


def _final(subscription: Subscription) -> Invoice:
    period = BilledPeriod.objects.get(subscription=subscription, kind="final")
    return period.invoice


def test_a_set_record_restarts_the_usage_the_upcoming_invoice_and_the_cycle_bill():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    calls = plan_of(workspace, 150, name="Calls", usage_scheme="metered")
    subscription = subscribe(workspace, START, [(calls, 1)])
    line = subscription.lines.get()
    _record(line, "10", santiago(2026, 1, 11))
    _move_clock(workspace, santiago(2026, 1, 15, 12))
    response = tenant.client.post(
        "/usages/",
        {"subscription_line": line.id, "quantity": 3, "action": "set",
         "date_time": santiago(2026, 1, 15).isoformat()},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["action"] == "set"
    _record(line, "2", santiago(2026, 1, 20))
    _record(line, "40", santiago(2026, 2, 10))  # the next period's

    _move_clock(workspace, santiago(2026, 1, 25))
    body = tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/").json()
    # The set makes it 3 on Jan 15; the increment after adds 2: 5 calls, not 15.
    assert [(row["name"], D(str(row["quantity"])), D(str(row["total"])), row["line_type"])
            for row in body["lines"]] == [("Calls (usage)", D(5), D(750), "usage")]  # fmt: skip

    _move_clock(workspace, DUE)
    _bill()
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    assert _lines(invoice) == [("Calls (usage)", "2026-01-10 – 2026-02-09", D(5), D(750), "usage")]


def test_invoice_lines_say_whether_they_are_fixed_or_usage():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    subscription = subscribe(
        workspace, START, [(plan_of(workspace, 10000, name="Base"), 1),
                           (_metered_by_events(workspace), 1)],
    )  # fmt: skip
    _move_clock(workspace, DUE)
    _bill()
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    body = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert [(line["name"], line["line_type"]) for line in body["lines"]] == [
        ("Base", "fixed"), ("Tokens (usage)", "usage")
    ]  # fmt: skip


def test_cancelled_at_period_end_the_last_period_s_usage_is_billed_once():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    subscription = subscribe(
        workspace, START, [(fixed, 1), (_metered_by_events(workspace), 1)], customer=customer
    )
    later = santiago(2026, 1, 20, 9, 0)
    _move_clock(workspace, later)
    services.subscription_cancel(subscription=subscription, now=later, at_period_end=True)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 100))

    _move_clock(workspace, DUE)
    _send(workspace, customer.id, ("b", santiago(2026, 2, 9, 23, 59), 20),
          ("c", santiago(2026, 2, 10), 999))  # fmt: skip
    assert _bill() == 1
    assert _bill() == 0
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    invoices = Invoice.objects.filter(subscription_id=subscription.id).order_by("period_start")
    assert [i.period_start.isoformat() for i in invoices] == ["2026-01-10", "2026-01-10"]
    final = _final(subscription)
    assert (final.period_start.isoformat(), final.period_end.isoformat()) == (
        "2026-01-10", "2026-02-10"
    )  # fmt: skip
    assert _lines(final) == [("Tokens (usage)", "2026-01-10 – 2026-02-09", D(120), D(240), "usage")]
    assert final.status == "finalized"
    # No fixed fee for a period it no longer runs.
    assert not Invoice.objects.filter(subscription_id=subscription.id, period_start="2026-02-10")


def test_cancelled_now_the_usage_so_far_is_billed_and_the_unused_fee_credited():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 31000, name="Base")
    subscription = subscribe(
        workspace, START, [(fixed, 1), (_metered_by_events(workspace), 1)], customer=customer
    )
    now = santiago(2026, 1, 20, 9, 0)
    _move_clock(workspace, now)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 100),
          ("b", santiago(2026, 1, 20, 8, 59), 5))  # fmt: skip
    services.subscription_cancel(subscription=subscription, now=now, prorate=True)
    _send(workspace, customer.id, ("after", santiago(2026, 1, 20, 10), 999))

    final = _final(subscription)
    assert _lines(final) == [("Tokens (usage)", "2026-01-10 – 2026-01-20", D(105), D(210), "usage")]
    assert (final.period_start.isoformat(), final.period_end.isoformat()) == (
        "2026-01-10", "2026-01-21"
    )  # fmt: skip
    note = CreditNote.objects.get(invoice__subscription_id=subscription.id)
    assert [line.name for line in note.lines.all()] == ["Unused time on Base"]
    _move_clock(workspace, DUE)
    assert _bill() == 0
    assert Invoice.objects.filter(subscription_id=subscription.id).count() == 2


def test_cancelled_now_after_asking_for_period_end_bills_the_usage_once():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    subscription = subscribe(workspace, START, [(_metered_by_events(workspace), 1)],
                             customer=customer)  # fmt: skip
    now = santiago(2026, 1, 20, 9, 0)
    _move_clock(workspace, now)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 7))
    services.subscription_cancel(subscription=subscription, now=now, at_period_end=True)
    services.subscription_cancel(subscription=subscription, now=now)
    _move_clock(workspace, DUE)
    assert _bill() == 0
    assert _lines(_final(subscription)) == [
        ("Tokens (usage)", "2026-01-10 – 2026-01-20", D(7), D(14), "usage")
    ]
    # Its only invoice: its start had no usage to bill yet.
    assert list(
        BilledPeriod.objects.filter(subscription=subscription).values_list("kind", flat=True)
    ) == ["final"]


def test_a_subscription_without_metered_lines_gets_no_final_invoice():
    workspace = workspace_at(START)
    subscription = subscribe(workspace, START, [(plan_of(workspace, 10000), 1)])
    now = santiago(2026, 1, 20, 9, 0)
    _move_clock(workspace, now)
    services.subscription_cancel(subscription=subscription, now=now)
    assert not BilledPeriod.objects.filter(subscription=subscription, kind="final").exists()
    assert Invoice.objects.filter(subscription_id=subscription.id).count() == 1


def test_a_metered_line_removed_mid_period_bills_its_usage_so_far_on_the_next_invoice():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    tokens = _metered_by_events(workspace)
    subscription = subscribe(workspace, START, [(fixed, 1), (tokens, 1)], customer=customer)
    removed_at = santiago(2026, 1, 20, 9, 0)
    _move_clock(workspace, removed_at)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 100),
          ("b", santiago(2026, 1, 20, 8), 5))  # fmt: skip
    services.subscription_update(subscription=subscription, now=removed_at, lines=[{"plan": fixed}])
    _send(workspace, customer.id, ("after", santiago(2026, 1, 21), 999))

    _move_clock(workspace, santiago(2026, 1, 25))
    body = tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/").json()
    assert [(row["name"], D(str(row["total"]))) for row in body["lines"]] == [
        ("Base", D(10000)), ("Tokens (usage)", D(210))
    ]  # fmt: skip

    _move_clock(workspace, DUE)
    assert _bill() == 1
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    assert _lines(invoice) == [
        ("Base", "2026-02-10 – 2026-03-09", D(1), D(10000), "fixed"),
        ("Tokens (usage)", "2026-01-10 – 2026-01-20", D(105), D(210), "usage"),
    ]
    # Billed once: the next cycle has nothing of it left.
    later = santiago(2026, 3, 10, 9, 0)
    _move_clock(workspace, later)
    cycles.cycle_run(clock=clock_now, now=later)
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-03-10")
    assert [line[0] for line in _lines(invoice)] == ["Base"]


def test_a_metered_plan_removed_and_added_back_bills_its_period_once():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    tokens = _metered_by_events(workspace)
    subscription = subscribe(workspace, START, [(fixed, 1), (tokens, 1)], customer=customer)
    for day, lines in [(15, [(fixed, 1)]), (18, [(fixed, 1), (tokens, 1)])]:
        at = santiago(2026, 1, day, 9, 0)
        _move_clock(workspace, at)
        if day == 15:
            _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 100))
        services.subscription_update(
            subscription=subscription, now=at, lines=[{"plan": p, "quantity": q} for p, q in lines]
        )
    now = santiago(2026, 1, 28, 9, 0)
    _move_clock(workspace, now)
    _send(workspace, customer.id, ("b", santiago(2026, 1, 25), 5))
    services.subscription_cancel(subscription=subscription, now=now)
    assert _lines(_final(subscription)) == [
        ("Tokens (usage)", "2026-01-10 – 2026-01-28", D(105), D(210), "usage")
    ]


def test_a_removed_line_s_usage_is_on_the_final_invoice_of_a_cancellation():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    subscription = subscribe(
        workspace, START, [(fixed, 1), (_metered_by_events(workspace), 1)], customer=customer
    )
    removed_at = santiago(2026, 1, 15, 9, 0)
    _move_clock(workspace, removed_at)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 40))
    services.subscription_update(subscription=subscription, now=removed_at, lines=[{"plan": fixed}])
    services.subscription_cancel(subscription=subscription, now=removed_at, at_period_end=True)
    _move_clock(workspace, DUE)
    assert _bill() == 1
    assert _lines(_final(subscription)) == [
        ("Tokens (usage)", "2026-01-10 – 2026-01-15", D(40), D(80), "usage")
    ]


def test_the_last_of_billing_cycles_bills_its_usage_when_it_ends():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    subscription = subscribe(
        workspace, START, [(fixed, 1), (_metered_by_events(workspace), 1)], customer=customer,
        billing_cycles=2,
    )  # fmt: skip
    _move_clock(workspace, DUE)
    _send(workspace, customer.id, ("jan", santiago(2026, 1, 20), 10))
    assert _bill() == 1
    subscription.refresh_from_db()
    assert (subscription.status, subscription.cycles_billed) == ("active", 2)

    _move_clock(workspace, santiago(2026, 3, 1))
    _send(workspace, customer.id, ("feb", santiago(2026, 2, 20), 7))
    body = tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/").json()
    assert [(row["name"], D(str(row["total"]))) for row in body["lines"]] == [
        ("Tokens (usage)", D(14))
    ]
    end = santiago(2026, 3, 10, 9, 0)
    _move_clock(workspace, end)
    assert cycles.cycle_run(clock=clock_now, now=end) == 1
    assert cycles.cycle_run(clock=clock_now, now=end) == 0
    subscription.refresh_from_db()
    assert (subscription.status, subscription.next_billing) == ("finalized", None)
    assert _lines(_final(subscription)) == [
        ("Tokens (usage)", "2026-02-10 – 2026-03-09", D(7), D(14), "usage")
    ]
    assert Invoice.objects.filter(subscription_id=subscription.id).count() == 3


def test_through_the_api_a_removed_line_and_a_cancellation_at_period_end_bill_their_usage():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    tokens = _metered_by_events(workspace)
    calls = plan_of(workspace, 150, name="Calls", usage_scheme="metered")
    subscription = subscribe(workspace, START, [(fixed, 1), (tokens, 1), (calls, 1)],
                             customer=customer)  # fmt: skip
    url = f"/subscriptions/{subscription.id}/"
    _move_clock(workspace, santiago(2026, 1, 20, 9))
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 30))
    line = next(row for row in tenant.client.get(url).json()["lines"] if row["plan"] == calls.id)
    for quantity, action, hour in [(10, "increment", 6), (3, "set", 7), (2, "increment", 8)]:
        response = tenant.client.post("/usages/", {
            "subscription_line": line["id"], "quantity": quantity, "action": action,
            "date_time": santiago(2026, 1, 20, hour).isoformat(),
        }, format="json")  # fmt: skip
        assert response.status_code == 201, response.json()
    response = tenant.client.patch(
        url, {"lines": [{"plan": fixed.id}, {"plan": calls.id}]}, format="json"
    )
    assert response.status_code == 200, response.json()
    response = tenant.client.delete(url, {"at_period_end": True}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["cancel_at_period_end"] is True

    _move_clock(workspace, DUE)
    assert _bill() == 1
    assert _lines(_final(subscription)) == [
        ("Calls (usage)", "2026-01-10 – 2026-02-09", D(5), D(750), "usage"),
        ("Tokens (usage)", "2026-01-10 – 2026-01-20", D(30), D(60), "usage"),
    ]
    assert tenant.client.get(url).json()["status"] == "cancelled"


def test_events_for_a_period_billed_on_a_final_invoice_are_reported_late():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    subscription = subscribe(workspace, START, [(_metered_by_events(workspace), 1)],
                             customer=customer)  # fmt: skip
    now = santiago(2026, 1, 20, 9, 0)
    _move_clock(workspace, now)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 7))
    services.subscription_cancel(subscription=subscription, now=now)
    total = _final(subscription).total

    report = _send(workspace, customer.id, ("late", santiago(2026, 1, 15), 50),
                   ("before", santiago(2026, 1, 5), 50))  # fmt: skip
    assert [(r.status, r.late) for r in report.results] == [("accepted", True), ("accepted", False)]
    assert _final(subscription).total == total


def test_events_for_a_removed_line_s_period_billed_at_period_end_are_reported_late():
    workspace = workspace_at(START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    subscription = subscribe(
        workspace, START, [(fixed, 1), (_metered_by_events(workspace), 1)], customer=customer
    )
    removed_at = santiago(2026, 1, 15, 9, 0)
    _move_clock(workspace, removed_at)
    services.subscription_update(subscription=subscription, now=removed_at, lines=[{"plan": fixed}])
    services.subscription_cancel(subscription=subscription, now=removed_at, at_period_end=True)
    _move_clock(workspace, DUE)
    assert _bill() == 1
    total = _final(subscription).total

    report = _send(workspace, customer.id, ("late", santiago(2026, 1, 12), 40))
    assert [(r.status, r.late) for r in report.results] == [("accepted", True)]
    assert _final(subscription).total == total


def test_a_removed_line_with_usage_to_bill_is_listed_until_its_invoice():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    customer = customer_of(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    tokens = _metered_by_events(workspace)
    subscription = subscribe(workspace, START, [(fixed, 1), (tokens, 1)], customer=customer)
    url = f"/subscriptions/{subscription.id}/"
    assert tenant.client.get(url).json()["ended_lines"] == []

    _move_clock(workspace, santiago(2026, 1, 20, 9))
    response = tenant.client.patch(url, {"lines": [{"plan": fixed.id}]}, format="json")
    assert response.status_code == 200, response.json()
    ended = [{"plan": tokens.id, "coupon": None, "usage_start": "2026-01-10",
              "ended": "2026-01-20T12:00:00Z", "ended_on": "2026-01-20"}]  # fmt: skip
    assert response.json()["ended_lines"] == ended
    listed = tenant.client.get("/subscriptions/").json()["results"]
    assert [row["ended_lines"] for row in listed] == [ended]
    # Read-only: sent back, it is ignored.
    kept = tenant.client.patch(url, {"note": "x", "ended_lines": []}, format="json")
    assert kept.status_code == 200, kept.json()
    assert kept.json()["ended_lines"] == ended

    _move_clock(workspace, DUE)
    assert _bill() == 1
    assert tenant.client.get(url).json()["ended_lines"] == []
