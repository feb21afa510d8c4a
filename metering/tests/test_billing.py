"""Cycle invoices carry the usage of the period just ended, priced by the plan's tiers,
once per period (G4) even after a crash mid-batch; late events never change them."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from billing.clock import clock_now
from billing.models import Workspace
from invoices.models import CreditNote, Invoice
from metering.choices import CreationScheme
from metering.models import Meter
from metering.services.events import events_ingest
from metering.services.records import usage_record_create
from subscriptions import services
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services import cycles
from subscriptions.tests.helpers import (
    coupon_of,
    customer_of,
    graduated_plan_of,
    plan_of,
    santiago,
    subscribe,
    workspace_at,
)
from subscriptions.upcoming import subscription_upcoming
from tests.conftest import make_tenant

D = Decimal
START = santiago(2026, 1, 10, 9, 0)
DUE = santiago(2026, 2, 10, 9, 0)


def _meter(workspace: Workspace) -> Meter:
    return Meter.objects.create(
        workspace=workspace, test_mode=True, name="Tokens", event_name="tokens",
        aggregation="sum", field="tokens",
    )  # fmt: skip


def _send(workspace: Workspace, customer: str, *events: tuple[str, datetime, int]) -> Any:
    return events_ingest(
        workspace=workspace, test_mode=True, now=clock_now(workspace=workspace, test_mode=True),
        events=[{"event_id": event_id, "event_name": "tokens", "customer": customer,
                 "timestamp": at.isoformat(), "properties": {"tokens": tokens}}
                for event_id, at, tokens in events],
    )  # fmt: skip


def _move_clock(workspace: Workspace, at: datetime) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at


def _bill(batch_size: int = 500) -> int:
    return cycles.cycle_run(clock=clock_now, now=DUE, batch_size=batch_size)


def _lines(invoice: Invoice) -> list[tuple[str, str, Decimal, Decimal]]:
    return [
        (line.name, line.description, line.quantity, line.total)
        for line in invoice.lines.order_by("position")
    ]


@pytest.mark.django_db
def test_a_cycle_bills_the_fixed_fee_ahead_and_the_usage_just_ended():
    workspace = workspace_at(START)
    meter = _meter(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    metered = graduated_plan_of(workspace, name="Tokens", usage_scheme="metered",
                                meter_id=meter.id)  # fmt: skip
    customer = customer_of(workspace)
    subscription = subscribe(workspace, START, [(fixed, 1), (metered, 1)], customer=customer)
    first = Invoice.objects.get(subscription_id=subscription.id)
    assert [line[0] for line in _lines(first)] == ["Base"]  # no period has ended yet

    _move_clock(workspace, DUE)
    _send(
        workspace, customer.id,
        ("a", santiago(2026, 1, 9, 23, 59), 999_999),  # before the period
        ("b", santiago(2026, 1, 10, 0, 0), 345),  # its first instant
        ("c", santiago(2026, 1, 20, 12, 0), 12_000),
        ("d", santiago(2026, 2, 10, 0, 0), 999_999),  # the next period's first instant
    )  # fmt: skip
    assert _bill() == 1

    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    # 12,345 tokens, graduated: 1,000 × 1 + 1,000 flat, 9,000 × 0.8, 2,345 × 0.5
    # = 2,000 + 7,200 + 1,172.5 = 10,372.5 → 10,373 pesos.
    assert _lines(invoice) == [
        ("Base", "2026-02-10 – 2026-03-09", D(1), D(10000)),
        ("Tokens (usage)", "2026-01-10 – 2026-02-09", D(12345), D(10373)),
    ]
    assert invoice.status == "finalized"
    assert (invoice.amount, invoice.tax, invoice.total) == (D(20373), D(3871), D(24244))


@pytest.mark.django_db
def test_zero_usage_bills_zero():
    workspace = workspace_at(START)
    metered = graduated_plan_of(workspace, name="Tokens", usage_scheme="metered",
                                meter_id=_meter(workspace).id)  # fmt: skip
    fixed = plan_of(workspace, 5000, name="Base")
    subscription = subscribe(workspace, START, [(fixed, 1), (metered, 1)])
    _move_clock(workspace, DUE)
    _bill()
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    assert _lines(invoice)[1] == ("Tokens (usage)", "2026-01-10 – 2026-02-09", D(0), D(0))
    assert invoice.amount == D(5000)


@pytest.mark.django_db
def test_a_metered_only_subscription_issues_nothing_at_its_start_and_bills_usage_at_period_end():
    workspace = workspace_at(START)
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered",
                      meter_id=_meter(workspace).id)  # fmt: skip
    customer = customer_of(workspace)

    subscription = subscribe(workspace, START, [(metered, 1)], customer=customer)

    assert not Invoice.objects.filter(subscription_id=subscription.id).exists()
    assert not BilledPeriod.objects.filter(subscription=subscription).exists()
    assert (subscription.status, subscription.cycles_billed) == ("active", 1)
    assert subscription.previous_billing.isoformat() == "2026-01-10"
    assert subscription.next_billing.isoformat() == "2026-02-10"
    _move_clock(workspace, DUE)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 20), 7))
    assert _bill() == 1
    assert _bill() == 0
    invoice = Invoice.objects.get(subscription_id=subscription.id)
    assert _lines(invoice) == [("Tokens (usage)", "2026-01-10 – 2026-02-09", D(7), D(14))]
    assert invoice.status == "finalized"
    periods = BilledPeriod.objects.filter(subscription=subscription)
    assert [p.period_start.isoformat() for p in periods] == ["2026-02-10"]


@pytest.mark.django_db
def test_a_metered_only_subscription_bills_zero_usage_on_a_line():
    workspace = workspace_at(START)
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered",
                      meter_id=_meter(workspace).id)  # fmt: skip
    subscription = subscribe(workspace, START, [(metered, 1)])
    _move_clock(workspace, DUE)

    _bill()

    invoice = Invoice.objects.get(subscription_id=subscription.id)
    assert _lines(invoice) == [("Tokens (usage)", "2026-01-10 – 2026-02-09", D(0), D(0))]


@pytest.mark.django_db
def test_a_metered_only_subscription_s_coupons_apply_to_its_invoices_not_to_the_start_it_skips():
    """Its start issues no invoice (no period has ended): a coupon counted in invoices
    still gives all its uses, from the first invoice issued, on the subscription and on
    a line alike, and the upcoming invoice shows them before it is issued."""
    workspace = workspace_at(START)
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered",
                      meter_id=_meter(workspace).id)  # fmt: skip
    customer = customer_of(workspace)
    once = coupon_of(workspace, discount_scheme="%", amount=D(50), duration_scheme="one_time")
    twice = coupon_of(workspace, discount_scheme="%", amount=D(10), apply_on="line",
                      duration_scheme="limited", duration_times=2)  # fmt: skip
    subscription = services.subscription_create(
        workspace=workspace, test_mode=True, customer=customer, now=START, coupon=once,
        lines=[{"plan": metered, "quantity": D(1), "coupon": twice}],
    )  # fmt: skip
    assert not Invoice.objects.filter(subscription_id=subscription.id).exists()
    _move_clock(workspace, santiago(2026, 1, 21))
    _send(workspace, customer.id, ("a", santiago(2026, 1, 20), 1000))
    upcoming = subscription_upcoming(
        subscription=Subscription.objects.get(pk=subscription.pk),
        now=clock_now(workspace=workspace, test_mode=True),
    )

    for month in (2, 3, 4):
        _move_clock(workspace, santiago(2026, month, 10, 9, 0))
        if month > 2:
            _send(workspace, customer.id, (f"m{month}", santiago(2026, month - 1, 20), 1000))
        cycles.cycle_run(
            clock=clock_now, now=santiago(2026, month, 10, 9, 0), workspace=workspace,
            test_mode=True,
        )  # fmt: skip

    invoices = Invoice.objects.filter(subscription_id=subscription.id).order_by("period_start")
    # 1,000 tokens × 2 = 2,000; −10 % on the line twice, then −50 % on the first invoice.
    assert [(i.period_start.isoformat(), i.amount) for i in invoices] == [
        ("2026-02-10", D(900)), ("2026-03-10", D(1800)), ("2026-04-10", D(2000)),
    ]  # fmt: skip
    assert (upcoming.invoice.amount, upcoming.invoice.period_start.isoformat()) == (
        D(900), "2026-02-10"
    )  # fmt: skip


@pytest.mark.django_db
def test_usage_records_feed_a_metered_plan_without_a_meter():
    workspace = workspace_at(START)
    per_unit = plan_of(workspace, 150, name="Calls", usage_scheme="metered")
    peak = plan_of(workspace, 1000, name="Seats", usage_scheme="metered",
                   usage_aggregation="max")  # fmt: skip
    subscription = subscribe(workspace, START, [(per_unit, 1), (peak, 1)])
    calls, seats = subscription.lines.order_by("position")
    records = [
        (calls, "10", santiago(2026, 1, 11)), (calls, "2.5", santiago(2026, 2, 9, 23, 59)),
        (seats, "3", santiago(2026, 1, 12)), (seats, "7", santiago(2026, 1, 15)),
        (seats, "4", santiago(2026, 1, 30)),
        (calls, "99", santiago(2026, 2, 10)),  # after the period
    ]  # fmt: skip
    for line, quantity, when in records:
        # Each recorded as it happens: a record more than a day ahead is refused.
        usage_record_create(
            workspace=workspace, test_mode=True, subscription_line=line, quantity=D(quantity),
            date_time=when, creation_scheme=CreationScheme.AUTOMATIC, now=when,
        )  # fmt: skip
    _move_clock(workspace, DUE)
    _bill()
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    assert _lines(invoice) == [
        ("Calls (usage)", "2026-01-10 – 2026-02-09", D("12.5"), D(1875)),
        ("Seats (usage)", "2026-01-10 – 2026-02-09", D(7), D(7000)),
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_crash_mid_batch_then_a_rerun_bills_each_usage_once(monkeypatch):
    workspace = workspace_at(START)
    meter = _meter(workspace)
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered", meter_id=meter.id)
    customers = [customer_of(workspace) for _ in range(10)]
    subscriptions = [subscribe(workspace, START, [(metered, 1)], customer=c) for c in customers]
    _move_clock(workspace, DUE)
    for n, customer in enumerate(customers):
        _send(workspace, customer.id, (f"t{n}", santiago(2026, 1, 15), 100 + n))
    real_issue = cycles._issue
    calls = {"n": 0}

    def crash_on_the_second_batch(batch: Any, *rest: Any) -> Any:
        calls["n"] += 1
        periods = real_issue(batch, *rest)
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # the process dies before commit
        return periods

    monkeypatch.setattr(cycles, "_issue", crash_on_the_second_batch)
    with pytest.raises(SystemExit):
        _bill(batch_size=4)
    monkeypatch.setattr(cycles, "_issue", real_issue)
    assert _bill(batch_size=4) == 6
    assert _bill(batch_size=4) == 0

    for n, subscription in enumerate(subscriptions):
        periods = BilledPeriod.objects.filter(subscription=subscription)
        # The first cycle had no usage to bill yet: it issued nothing.
        assert [p.period_start.isoformat() for p in periods] == ["2026-02-10"]
        invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
        assert _lines(invoice) == [
            ("Tokens (usage)", "2026-01-10 – 2026-02-09", D(100 + n), D(2 * (100 + n)))
        ]


@pytest.mark.django_db
def test_a_late_event_is_reported_and_the_invoice_stays():
    workspace = workspace_at(START)
    metered = plan_of(workspace, 1, name="Tokens", usage_scheme="metered",
                      meter_id=_meter(workspace).id)  # fmt: skip
    customer = customer_of(workspace)
    subscription = subscribe(workspace, START, [(metered, 1)], customer=customer)
    _move_clock(workspace, DUE)
    _send(workspace, customer.id, ("on-time", santiago(2026, 1, 15), 40))
    _bill()
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    total = invoice.total

    report = _send(workspace, customer.id, ("late", santiago(2026, 1, 20), 60))
    assert [(r.status, r.late) for r in report.results] == [("accepted", True)]
    invoice.refresh_from_db()
    assert invoice.total == total
    assert _lines(invoice)[0][2] == D(40)


@pytest.mark.django_db
def test_the_upcoming_invoice_shows_the_usage_so_far_priced():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    meter = _meter(workspace)
    fixed = plan_of(workspace, 10000, name="Base")
    metered = graduated_plan_of(workspace, name="Tokens", usage_scheme="metered",
                                meter_id=meter.id)  # fmt: skip
    customer = customer_of(workspace)
    subscription = subscribe(workspace, START, [(fixed, 1), (metered, 1)], customer=customer)
    _move_clock(workspace, santiago(2026, 1, 25, 12, 0))
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 1500),
          ("b", santiago(2026, 1, 25, 11), 500))  # fmt: skip

    response = tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["period_start"], body["usage_start"], body["usage_until"]) == (
        "2026-02-10", "2026-01-10", "2026-01-25T15:00:00Z"
    )  # fmt: skip
    # 2,000 tokens: 1,000 × 1 + 1,000 flat, 1,000 × 0.8 = 2,800.
    assert [(line["name"], Decimal(str(line["total"]))) for line in body["lines"]] == [
        ("Base", D(10000)), ("Tokens (usage)", D(2800))
    ]  # fmt: skip
    assert Decimal(str(body["total"])) == D("15232")  # 12,800 + 19 % IVA
    assert not Invoice.objects.filter(subscription_id=subscription.id, period_start="2026-02-10")


@pytest.mark.django_db
def test_a_cancelled_subscription_has_no_upcoming_invoice():
    tenant = make_tenant(test_mode=True)
    _move_clock(tenant.workspace, START)
    subscription = subscribe(tenant.workspace, START, [(plan_of(tenant.workspace), 1)])
    Subscription.objects.filter(pk=subscription.pk).update(status="cancelled")
    response = tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/")
    assert response.status_code == 404
    assert response.json()["code"] == "invoice_upcoming_none"


@pytest.mark.django_db
def test_a_metered_line_changed_mid_period_is_not_prorated():
    workspace = workspace_at(START)
    fixed = plan_of(workspace, 10000, name="Base")
    metered = graduated_plan_of(workspace, name="Tokens", usage_scheme="metered",
                                meter_id=_meter(workspace).id)  # fmt: skip
    subscription = subscribe(workspace, START, [(fixed, 1), (metered, 1)])
    later = santiago(2026, 1, 20, 9, 0)
    _move_clock(workspace, later)
    services.subscription_update(
        subscription=subscription, now=later,
        lines=[{"plan": fixed, "quantity": D(2)}],  # the metered line goes, a seat comes
    )  # fmt: skip
    prorations = Invoice.objects.filter(subscription_id=subscription.id).exclude(
        period_start="2026-01-10"
    )
    assert [line.name for p in prorations for line in p.lines.all()] == [
        f"Remaining time on {fixed.name}"
    ]
    notes = CreditNote.objects.filter(invoice__subscription_id=subscription.id)
    assert [line.name for note in notes for line in note.lines.all()] == [
        f"Unused time on {fixed.name}"
    ]


@pytest.mark.django_db
def test_a_month_of_bytes_past_a_trillion_is_shown_billed_and_billed_on_cancel():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    per_byte = plan_of(workspace, D("0.000001"), name="Bytes", usage_scheme="metered",
                       meter_id=_meter(workspace).id)  # fmt: skip
    customer = customer_of(workspace)
    subscription = subscribe(workspace, START, [(per_byte, 1)], customer=customer)
    _move_clock(workspace, santiago(2026, 1, 25, 12, 0))
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), 3 * 10**12))

    upcoming = tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/")
    assert upcoming.status_code == 200, upcoming.json()
    (line,) = upcoming.json()["lines"]
    assert (D(str(line["quantity"])), D(str(line["total"]))) == (D(3 * 10**12), D(3_000_000))

    advanced = tenant.client.post("/test_clock/", {"advance_to": DUE.isoformat()}, format="json")
    assert advanced.status_code == 200, advanced.json()
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    assert _lines(invoice) == [
        ("Bytes (usage)", "2026-01-10 – 2026-02-09", D(3 * 10**12), D(3_000_000)),
    ]

    workspace.refresh_from_db()  # the clock the advance left
    _send(workspace, customer.id, ("b", santiago(2026, 2, 10, 8), 10**15))
    cancelled = tenant.client.delete(f"/subscriptions/{subscription.id}/?cancel_reason=custom")
    assert cancelled.status_code == 200, cancelled.json()
    final = BilledPeriod.objects.get(subscription=subscription, kind="final").invoice
    assert _lines(final)[0][2:] == (D(10**15), D(1_000_000_000))


@pytest.mark.django_db
def test_usage_beyond_what_a_line_holds_flags_its_subscription_and_bills_the_others():
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    metered = plan_of(workspace, 1, name="Tokens", usage_scheme="metered",
                      meter_id=_meter(workspace).id)  # fmt: skip
    customer = customer_of(workspace)
    unbillable = subscribe(workspace, START, [(metered, 1)], customer=customer)
    other = subscribe(workspace, START, [(plan_of(workspace, 5000, name="Seat"), 1)])
    _move_clock(workspace, santiago(2026, 1, 25, 12, 0))
    # A number as text is counted whatever its size; this one fits no invoice line.
    _send(workspace, customer.id, ("a", santiago(2026, 1, 12), "2" + "0" * 24))

    upcoming = tenant.client.get(f"/subscriptions/{unbillable.id}/upcoming/")
    assert (upcoming.status_code, upcoming.json()["code"]) == (409, "usage_out_of_range")
    advanced = tenant.client.post("/test_clock/", {"advance_to": DUE.isoformat()}, format="json")
    assert advanced.status_code == 200, advanced.json()

    unbillable.refresh_from_db()
    assert (unbillable.status, unbillable.needs_attention_reason) == (
        "needs_attention", "processing_issue"
    )  # fmt: skip
    assert unbillable.status_description.startswith(
        "Its cycle could not be billed: The usage of Tokens"
    )
    assert Invoice.objects.filter(subscription_id=other.id, period_start="2026-02-10").exists()
    assert not Invoice.objects.filter(subscription_id=unbillable.id, period_start="2026-02-10")


@pytest.mark.django_db
def test_a_customer_whose_reference_is_its_own_id_is_billed_its_usage_once():
    workspace = workspace_at(START)
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered",
                      meter_id=_meter(workspace).id)  # fmt: skip
    customer = customer_of(workspace)
    customer.reference = customer.id  # stored before such a reference was refused
    customer.save()
    subscription = subscribe(workspace, START, [(metered, 1)], customer=customer)
    _move_clock(workspace, DUE)
    _send(workspace, customer.id, ("a", santiago(2026, 1, 20), 3000))

    assert _bill() == 1

    invoice = Invoice.objects.get(subscription_id=subscription.id)
    assert _lines(invoice) == [("Tokens (usage)", "2026-01-10 – 2026-02-09", D(3000), D(6000))]


@pytest.mark.django_db
def test_a_reference_that_is_another_customer_s_id_bills_that_customer_s_events_to_no_one_else():
    workspace = workspace_at(START)
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered",
                      meter_id=_meter(workspace).id)  # fmt: skip
    named = customer_of(workspace)
    other = customer_of(workspace)
    other.reference = named.id  # stored before such a reference was refused
    other.save()
    subscriptions = [
        subscribe(workspace, START, [(metered, 1)], customer=customer)
        for customer in (named, other)
    ]
    _move_clock(workspace, DUE)
    _send(workspace, named.id, ("a", santiago(2026, 1, 20), 5000))

    assert _bill() == 2

    quantities = [
        Invoice.objects.get(subscription_id=subscription.id).lines.get().quantity
        for subscription in subscriptions
    ]
    assert quantities == [D(5000), D(0)]
