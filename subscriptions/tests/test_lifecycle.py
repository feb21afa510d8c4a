"""Pause, resume, cancel and proration: worked examples, checked by hand."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.errors import DomainError, InvalidInput
from billing.models import Country, DocumentType, Event
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, Invoice
from invoices.services.filing import tax_agency_attempt
from subscriptions import services
from subscriptions.choices import SUBSCRIPTION_TRANSITIONS, SubscriptionStatus
from subscriptions.models import Subscription
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import (
    coupon_of,
    graduated_plan_of,
    invoice_rows,
    plan_of,
    santiago,
    subscribe,
    workspace_at,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _periods(subscription: Subscription) -> list[tuple[date, date]]:
    return [(row[2], row[3]) for row in invoice_rows(subscription)]


def test_pause_then_resume_continues_at_the_next_boundary_without_back_billing() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)])
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 2, 20, 9, 0))
    services.subscription_pause(
        subscription=subscription, now=santiago(2026, 2, 20, 9, 0), paused_reason="custom"
    )
    # Mar 15 and Apr 15 pass while paused: nothing is billed.
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 2, 20, 9, 0),
                  to=santiago(2026, 5, 3, 9, 0))  # fmt: skip
    assert len(_periods(subscription)) == 2
    resumed = services.subscription_resume(
        subscription=subscription, now=santiago(2026, 5, 3, 9, 0)
    )
    assert resumed.status == SubscriptionStatus.ACTIVE
    assert resumed.next_billing == date(2026, 5, 15)  # not May 3, and not Mar 15 again
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 5, 3, 9, 0),
                  to=santiago(2026, 5, 20, 9, 0))  # fmt: skip
    assert _periods(subscription) == [
        (date(2026, 1, 15), date(2026, 2, 15)),
        (date(2026, 2, 15), date(2026, 3, 15)),
        (date(2026, 5, 15), date(2026, 6, 15)),
    ]
    types = Event.objects.filter(object_id=subscription.id).values_list("type", flat=True)
    assert {"subscription.paused", "subscription.resumed"} <= set(types)


def test_pause_until_resumes_by_itself_when_the_date_comes() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)])
    paused = services.subscription_pause(
        subscription=subscription, now=santiago(2026, 1, 20, 9, 0), pause_until=date(2026, 4, 1)
    )
    assert paused.resume_at == santiago(2026, 4, 1, 0, 0)
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 1, 20, 9, 0),
                  to=santiago(2026, 4, 20, 9, 0))  # fmt: skip
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.pause_until is None
    # Resumed on Apr 1; the next boundary is Apr 15. Feb 15 and Mar 15 are never billed.
    assert _periods(subscription) == [
        (date(2026, 1, 15), date(2026, 2, 15)),
        (date(2026, 4, 15), date(2026, 5, 15)),
    ]


def test_cancel_now_stops_billing() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)])
    cancelled = services.subscription_cancel(
        subscription=subscription, now=santiago(2026, 1, 20, 9, 0), cancel_reason="insolvency"
    )
    assert cancelled.status == SubscriptionStatus.CANCELLED
    assert cancelled.cancelled_at == santiago(2026, 1, 20, 9, 0)
    assert cancelled.next_billing is None
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 1, 20, 9, 0),
                  to=santiago(2026, 6, 1, 9, 0))  # fmt: skip
    assert len(_periods(subscription)) == 1
    with pytest.raises(DomainError) as error:
        services.subscription_cancel(subscription=subscription, now=santiago(2026, 6, 1, 9, 0))
    assert error.value.code == "subscription_invalid_transition"


def _hold(subscription: Subscription, how: str, now: datetime) -> None:
    """Stop the subscription's billing: paused, or flagged for attention."""
    if how == "pause":
        services.subscription_pause(subscription=subscription, now=now)
    else:
        services.subscription_flag(
            subscription_id=subscription.id, reason="gateway_issue", description="x", now=now
        )


@pytest.mark.parametrize("how", ["pause", "flag"])
def test_a_cancellation_at_period_end_takes_effect_while_billing_is_stopped(how: str) -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)])
    services.subscription_cancel(
        subscription=subscription, now=santiago(2026, 1, 20, 9, 0), at_period_end=True
    )
    _hold(subscription, how, santiago(2026, 1, 25, 9, 0))

    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 1, 25, 9, 0),
                  to=santiago(2026, 2, 20, 9, 0))  # fmt: skip

    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == santiago(2026, 2, 15, 0, 0)
    assert subscription.next_billing is None
    assert _periods(subscription) == [(date(2026, 1, 15), date(2026, 2, 15))]
    assert Event.objects.filter(object_id=subscription.id, type="subscription.cancelled").exists()


def test_a_paused_subscription_cancelled_at_period_end_cancels_when_the_period_ends() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)])
    services.subscription_pause(subscription=subscription, now=santiago(2026, 1, 20, 9, 0))

    scheduled = services.subscription_cancel(
        subscription=subscription, now=santiago(2026, 1, 25, 9, 0), at_period_end=True
    )

    assert (scheduled.status, scheduled.cancel_at_period_end) == ("paused", True)
    assert scheduled.cancelled_at is None
    assert scheduled.status_description == "Cancels on 2026-02-15."
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 1, 25, 9, 0),
                  to=santiago(2026, 2, 20, 9, 0))  # fmt: skip
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == santiago(2026, 2, 15, 0, 0)
    assert len(_periods(subscription)) == 1


def test_paused_past_its_billed_period_it_cancels_at_the_end_of_the_period_running_today() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)])
    services.subscription_pause(subscription=subscription, now=santiago(2026, 1, 20, 9, 0))
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 1, 20, 9, 0),
                  to=santiago(2026, 3, 20, 9, 0))  # fmt: skip

    scheduled = services.subscription_cancel(
        subscription=subscription, now=santiago(2026, 3, 20, 9, 0), at_period_end=True
    )

    assert (scheduled.status, scheduled.next_billing) == ("paused", date(2026, 4, 15))
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 3, 20, 9, 0),
                  to=santiago(2026, 4, 14, 9, 0))  # fmt: skip
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAUSED
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 4, 14, 9, 0),
                  to=santiago(2026, 4, 20, 9, 0))  # fmt: skip
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == santiago(2026, 4, 15, 0, 0)
    assert len(_periods(subscription)) == 1  # the paused periods are never billed


def test_resumed_before_the_period_ends_it_still_cancels_then() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)])
    services.subscription_cancel(
        subscription=subscription, now=santiago(2026, 1, 20, 9, 0), at_period_end=True
    )
    services.subscription_pause(subscription=subscription, now=santiago(2026, 1, 22, 9, 0))

    resumed = services.subscription_resume(
        subscription=subscription, now=santiago(2026, 1, 25, 9, 0)
    )

    assert (resumed.status, resumed.cancel_at_period_end) == ("active", True)
    assert resumed.status_description == "Cancels on 2026-02-15."
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 1, 25, 9, 0),
                  to=santiago(2026, 2, 20, 9, 0))  # fmt: skip
    subscription.refresh_from_db()
    assert subscription.cancelled_at == santiago(2026, 2, 15, 0, 0)
    assert len(_periods(subscription)) == 1


def test_cancelled_at_period_end_in_a_trial_it_keeps_the_trial_and_cancels_when_it_ends() -> None:
    # As Stripe's `cancel_at_period_end` in a trial: the trial is the period running.
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(
        workspace, start, [(plan_of(workspace), 1)], trial_end=date(2026, 2, 1)
    )

    cancelling = services.subscription_cancel(
        subscription=subscription, now=santiago(2026, 1, 20, 9, 0), at_period_end=True
    )

    assert (cancelling.status, cancelling.cancel_at_period_end) == ("active", True)
    assert (cancelling.cancel_at, cancelling.next_billing) == (date(2026, 2, 1), date(2026, 2, 1))
    assert cancelling.status_description == "Cancels on 2026-02-01."
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 1, 20, 9, 0),
                  to=santiago(2026, 3, 1, 9, 0))  # fmt: skip
    subscription.refresh_from_db()
    assert (subscription.status, subscription.cancelled_at) == (
        "cancelled", santiago(2026, 2, 1, 0, 0)
    )  # fmt: skip
    assert _periods(subscription) == []


@pytest.mark.parametrize(
    ("status", "verb"),
    [
        ("active", "resume"),
        ("paused", "pause"),
        ("cancelled", "pause"),
        ("cancelled", "resume"),
        ("finalized", "resume"),
        ("finalized", "pause"),
        ("needs_attention", "pause"),
    ],
)
def test_forbidden_transitions_are_refused(status: str, verb: str) -> None:
    now = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    Subscription.objects.filter(pk=subscription.pk).update(status=status)
    call = getattr(services, f"subscription_{verb}")
    with pytest.raises(DomainError) as error:
        call(subscription=subscription, now=now)
    assert error.value.code == "subscription_invalid_transition"


def test_every_allowed_transition_has_a_service() -> None:
    # active→paused (pause), paused→active and needs_attention→active (resume),
    # active/paused/needs_attention→cancelled (cancel), active→finalized (cycles),
    # active→needs_attention (flag): each is exercised in this module or test_collection.
    assert {
        ("active", "paused"), ("active", "cancelled"), ("active", "finalized"),
        ("active", "needs_attention"), ("paused", "active"), ("paused", "cancelled"),
        ("needs_attention", "active"), ("needs_attention", "cancelled"),
        ("needs_attention", "finalized"),
    } == SUBSCRIPTION_TRANSITIONS  # fmt: skip
    now = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(now)
    for start in ("paused", "needs_attention"):
        subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
        Subscription.objects.filter(pk=subscription.pk).update(status=start)
        assert services.subscription_resume(subscription=subscription, now=now).status == "active"
        Subscription.objects.filter(pk=subscription.pk).update(status=start)
        assert services.subscription_cancel(subscription=subscription, now=now).status == (
            "cancelled"
        )


def test_upgrading_mid_period_credits_unused_time_and_charges_the_rest() -> None:
    # April has 30 days. On Apr 16, 15 of them are left: Basic (30,000) is credited
    # 15/30 = 15,000 (+ IVA 2,850 = 17,850) on a credit note against April's invoice, and
    # Premium (60,000) is charged 15/30 = 30,000 (+ 5,700 = 35,700) on a new invoice.
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    basic, premium = (
        plan_of(workspace, 30000, name="Basic"),
        plan_of(workspace, 60000, name="Premium"),
    )
    subscription = subscribe(workspace, start, [(basic, 1)])
    change = santiago(2026, 4, 16, 11, 0)
    services.subscription_update(
        subscription=subscription, now=change, lines=[{"plan": premium, "quantity": D(1)}]
    )

    april = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 4, 1))
    note = CreditNote.objects.get(invoice=april)
    assert (note.status, note.reason, note.subtotal, note.tax, note.total) == (
        "finalized",
        3,
        D(15000),
        D(2850),
        D(17850),
    )
    [credit] = note.lines.all()
    assert credit.name == "Unused time on Basic"
    assert credit.description == "2026-04-16 – 2026-04-30 (prorated 15/30 days)"
    charge_invoice = Invoice.objects.get(
        subscription_id=subscription.id, period_start=date(2026, 4, 16)
    )
    assert (charge_invoice.status, charge_invoice.period_end, charge_invoice.subtotal,
            charge_invoice.tax, charge_invoice.total) == (
        "finalized", date(2026, 5, 1), D(30000), D(5700), D(35700)
    )  # fmt: skip
    [charge] = charge_invoice.lines.all()
    assert (charge.name, charge.amount, charge.quantity) == (
        "Remaining time on Premium",
        D(30000),
        1,
    )
    # May bills Premium in full.
    clock_advance(workspace=workspace, test_mode=True, now=change, to=santiago(2026, 5, 1, 9, 0))
    may = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 5, 1))
    assert (may.subtotal, may.total) == (D(60000), D(71400))


def _upgrade_on_april_16(**fields: object) -> tuple[CreditNote, Invoice]:
    """Basic (30,000) from Apr 1, Premium (60,000) from Apr 16: 15 of April's 30 days
    left. The plan change's credit note, and its invoice for the rest of April."""
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    basic, premium = plan_of(workspace, 30000), plan_of(workspace, 60000, name="Premium")
    coupons = {name: coupon_of(workspace, **kwargs) for name, kwargs in fields.items()}
    subscription = subscribe(workspace, start, [(basic, 1)], **coupons)
    services.subscription_update(
        subscription=subscription, now=santiago(2026, 4, 16, 9, 0),
        lines=[{"plan": premium, "quantity": D(1)}],
    )  # fmt: skip
    note = CreditNote.objects.get(invoice__subscription_id=subscription.id)
    charge = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 4, 16))
    return note, charge


def test_a_plan_change_prorates_what_the_coupon_leaves_to_pay() -> None:
    # 20 % off every invoice: April billed 30,000 − 20 % = 24,000. The 15 unused days of
    # Basic give back 15,000 − 20 % = 12,000, and Premium's 15 days cost 30,000 − 20 %
    # = 24,000 (+ IVA 4,560), as April's invoice would have billed them.
    note, charge = _upgrade_on_april_16(coupon={"amount": D(20), "duration_scheme": "forever"})

    assert (note.subtotal, note.tax, note.total) == (D(12000), D(2280), D(14280))
    assert (charge.discount_scheme, charge.discount) == ("%", D(20))
    assert (charge.subtotal, charge.tax, charge.total) == (D(24000), D(4560), D(28560))


def test_a_plan_change_prorates_an_amount_off_the_invoice_by_day() -> None:
    # 9,000 off every invoice: April billed 21,000. Half the period is left: Basic's
    # credit is 15,000 less half its 9,000 off (10,500); Premium's charge 30,000 less
    # half of 9,000 (25,500).
    coupon = {"amount": D(9000), "discount_scheme": "$", "currency_id": "CLP",
              "duration_scheme": "forever"}  # fmt: skip
    note, charge = _upgrade_on_april_16(coupon=coupon)

    assert note.subtotal == D(10500)
    assert (charge.discount_scheme, charge.discount, charge.subtotal) == ("$", D(4500), D(25500))


def test_a_plan_change_prorates_a_line_coupon_of_the_period() -> None:
    # 10 % off each line, once: on April's lines, so on the days left of April too.
    note, charge = _upgrade_on_april_16(coupon={"amount": D(10), "apply_on": "line"})

    assert note.subtotal == D(13500)
    [line] = charge.lines.all()
    assert (line.discount_scheme, line.discount, line.total) == ("%", D(10), D(27000))
    assert charge.subtotal == D(27000)


def test_a_quantity_change_in_a_31_day_month_rounds_once_per_line() -> None:
    # May has 31 days; on May 10, 22 are left. 2 seats → 3 seats of 10,000:
    # credit 2 × 10,000 × 22/31 = 2 × 7,096.774194 = 14,193.548388 → 14,194;
    # charge 3 × 7,096.774194 = 21,290.322582 → 21,290.
    start = santiago(2026, 5, 1, 9, 0)
    workspace = workspace_at(start)
    seat = plan_of(workspace, 10000, name="Seat")
    subscription = subscribe(workspace, start, [(seat, 2)])
    services.subscription_update(
        subscription=subscription, now=santiago(2026, 5, 10, 9, 0),
        lines=[{"plan": seat, "quantity": D(3)}],
    )  # fmt: skip
    note = CreditNote.objects.get(invoice__subscription_id=subscription.id)
    [credit] = note.lines.all()
    assert (credit.quantity, credit.amount, credit.total) == (2, D("7096.774194"), D(14194))
    extra = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 5, 10))
    [charge] = extra.lines.all()
    assert (charge.quantity, charge.amount, charge.total) == (3, D("7096.774194"), D(21290))


@pytest.mark.parametrize("how", ["pause", "flag"])
def test_a_quantity_change_while_billing_is_stopped_is_prorated_as_an_active_one(how: str) -> None:
    # As above: the period's invoice billed May in full, whatever happened to it since.
    start = santiago(2026, 5, 1, 9, 0)
    workspace = workspace_at(start)
    seat = plan_of(workspace, 10000, name="Seat")
    subscription = subscribe(workspace, start, [(seat, 2)])
    _hold(subscription, how, santiago(2026, 5, 5, 9, 0))

    services.subscription_update(
        subscription=subscription, now=santiago(2026, 5, 10, 9, 0),
        lines=[{"plan": seat, "quantity": D(3)}],
    )  # fmt: skip

    note = CreditNote.objects.get(invoice__subscription_id=subscription.id)
    assert [(c.quantity, c.total) for c in note.lines.all()] == [(2, D(14194))]
    extra = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 5, 10))
    assert [(c.quantity, c.total) for c in extra.lines.all()] == [(3, D(21290))]


def test_a_line_change_while_paused_past_the_billed_period_prorates_nothing() -> None:
    start = santiago(2026, 5, 1, 9, 0)
    workspace = workspace_at(start)
    seat = plan_of(workspace, 10000, name="Seat")
    subscription = subscribe(workspace, start, [(seat, 2)])
    services.subscription_pause(subscription=subscription, now=santiago(2026, 5, 5, 9, 0))

    services.subscription_update(
        subscription=subscription, now=santiago(2026, 6, 10, 9, 0),
        lines=[{"plan": seat, "quantity": D(3)}],
    )  # fmt: skip

    assert not CreditNote.objects.filter(invoice__subscription_id=subscription.id).exists()
    assert Invoice.objects.filter(subscription_id=subscription.id).count() == 1


def test_a_graduated_plan_is_prorated_from_its_exact_price() -> None:
    # April has 30 days; on Apr 9, 22 are left. 999 999 units cost 504 199.5 exactly:
    # credit 504 199.5 × 22/30 = 369 746.3 → 369 746. 1 999 999 units cost 1 004 199.5:
    # charge × 22/30 = 736 412.97 → 736 413. A six-decimal prorated unit price times the
    # units gives 369 747 and 736 414.
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    plan = graduated_plan_of(workspace)
    subscription = subscribe(workspace, start, [(plan, 999999)])
    services.subscription_update(
        subscription=subscription, now=santiago(2026, 4, 9, 9, 0),
        lines=[{"plan": plan, "quantity": D(1999999)}],
    )  # fmt: skip

    [credit] = CreditNote.objects.get(invoice__subscription_id=subscription.id).lines.all()
    assert (credit.description, credit.total) == (
        "2026-04-09 – 2026-04-30 (prorated 22/30 days)",
        D(369746),
    )
    extra = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 4, 9))
    [charge] = extra.lines.all()
    assert (charge.quantity, charge.total) == (1999999, D(736413))


def test_lines_must_share_the_subscription_frequency() -> None:
    now = santiago(2026, 5, 1, 9, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    annual = plan_of(workspace, frequency="annual")
    with pytest.raises(InvalidInput) as error:
        services.subscription_update(
            subscription=subscription, now=now, lines=[{"plan": annual, "quantity": D(1)}]
        )
    assert "lines" in error.value.errors


def _cancel_prorated(subscription: Subscription, now: datetime) -> list[CreditNote]:
    services.subscription_cancel(subscription=subscription, now=now, prorate=True)
    return list(CreditNote.objects.filter(invoice__subscription_id=subscription.id))


def test_cancel_now_prorated_credits_the_unused_days_on_the_periods_invoice() -> None:
    # May has 31 days; cancelled on May 10, 22 are unused. 2 seats of 10,000:
    # 2 × (10,000 × 22/31 = 7,096.774194) = 14,193.548388 → 14,194; IVA 2,696.86 → 2,697.
    start = santiago(2026, 5, 1, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, 10000, name="Seat"), 2)])
    may = Invoice.objects.get(subscription_id=subscription.id)
    cancel_at = santiago(2026, 5, 10, 15, 0)

    [note] = _cancel_prorated(subscription, cancel_at)

    subscription.refresh_from_db()
    assert (subscription.status, subscription.next_billing) == ("cancelled", None)
    assert (note.invoice_id, note.status, note.reason, note.document_id) == (
        may.id, "finalized", 3, 61
    )  # fmt: skip
    assert note.number is not None and note.biller_status == "pending"  # filed like any note
    assert (note.date, note.subtotal, note.tax, note.total) == (
        date(2026, 5, 10), D(14194), D(2697), D(16891)
    )  # fmt: skip
    assert note.references == [{
        "document": "33", "serial": str(may.number), "date": "2026-05-01", "code": 3,
        "description": "Cancellation: unused time",
    }]  # fmt: skip
    [credit] = note.lines.all()
    assert (credit.name, credit.quantity, credit.amount, credit.total) == (
        "Unused time on Seat", 2, D("7096.774194"), D(14194)
    )  # fmt: skip
    assert credit.description == "2026-05-10 – 2026-05-31 (prorated 22/31 days)"
    assert sorted(Event.objects.filter(object_id=note.id).values_list("type", flat=True)) == [
        "credit_note.created", "credit_note.finalized"
    ]  # fmt: skip
    assert Event.objects.filter(object_id=subscription.id, type="subscription.cancelled").exists()


def test_cancel_now_prorated_in_dollars_on_an_export_invoice() -> None:
    # February 2026 has 28 days; cancelled on Feb 11, 18 are unused. 3 × 99.99 USD:
    # 99.99 × 18/28 = 64.279286 a unit; × 3 = 192.837858 → 192.84, exempt (110, export).
    start = santiago(2026, 2, 1, 9, 0)
    workspace = workspace_at(start)
    customer = CustomerFactory(
        workspace=workspace, test_mode=True, country=Country.objects.get(code="US"),
        currency_id="USD", tax_id="",
    )  # fmt: skip
    plan = PlanFactory(workspace=workspace, test_mode=True, name="Pro", currency_id="USD",
                       amount=D("99.99"))  # fmt: skip
    subscription = subscribe(
        workspace, start, [(plan, 3)], customer=customer,
        document=DocumentType.objects.get(country_id="CL", code="110"),
    )  # fmt: skip
    february = Invoice.objects.get(subscription_id=subscription.id)
    assert february.total == D("299.97")

    [note] = _cancel_prorated(subscription, santiago(2026, 2, 11, 9, 0))

    assert (note.invoice_id, note.document_id, note.currency_id) == (february.id, 112, "USD")
    assert (note.subtotal, note.exempt, note.tax, note.total) == (
        D("192.84"), D("192.84"), D(0), D("192.84")
    )  # fmt: skip
    [credit] = note.lines.all()
    assert (credit.amount, credit.total) == (D("64.279286"), D("192.84"))


def test_a_prorated_cancellation_gives_back_what_was_charged_after_discounts() -> None:
    # April (30 days) billed 30,000 − 20 % = 24,000. Cancelled on Apr 16: 15 days unused,
    # 15,000 − 20 % = 12,000 (+ IVA 2,280), never the undiscounted 15,000.
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    coupon = coupon_of(workspace, amount=D(20), duration_scheme="forever")
    subscription = subscribe(workspace, start, [(plan_of(workspace, 30000), 1)], coupon=coupon)
    april = Invoice.objects.get(subscription_id=subscription.id)
    assert april.subtotal == D(24000)

    [note] = _cancel_prorated(subscription, santiago(2026, 4, 16, 9, 0))

    assert (note.invoice_id, note.subtotal, note.tax, note.total) == (
        april.id, D(12000), D(2280), D(14280)
    )  # fmt: skip


def test_after_an_upgrade_the_new_plan_is_credited_on_the_invoice_that_billed_it() -> None:
    # Basic (30,000) from Apr 1; Premium (60,000) from Apr 16, invoiced 30,000 for
    # [Apr 16, May 1) while Basic's 15 days were credited. Cancelled on Apr 21: Premium's
    # 10 unused days of the 15 that invoice billed, 30,000 × 10/15 = 20,000, on that invoice.
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    basic, premium = plan_of(workspace, 30000), plan_of(workspace, 60000, name="Premium")
    subscription = subscribe(workspace, start, [(basic, 1)])
    services.subscription_update(
        subscription=subscription, now=santiago(2026, 4, 16, 9, 0),
        lines=[{"plan": premium, "quantity": D(1)}],
    )  # fmt: skip
    upgrade = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 4, 16))

    notes = _cancel_prorated(subscription, santiago(2026, 4, 21, 9, 0))

    [cancellation] = [n for n in notes if n.description == "Cancellation: unused time"]
    assert (cancellation.invoice_id, cancellation.subtotal, cancellation.total) == (
        upgrade.id, D(20000), D(23800)
    )  # fmt: skip
    assert len(notes) == 2  # and the plan change's, on April's invoice; nothing more


def test_a_prorated_cancellation_credits_nothing_when_no_period_is_billed() -> None:
    # In a trial, and after a pause outlived the billed period, no invoice billed today.
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    trial = subscribe(workspace, start, [(plan_of(workspace), 1)], trial_end=date(2026, 2, 1))
    paused = subscribe(workspace, start, [(plan_of(workspace), 1)])
    services.subscription_pause(subscription=paused, now=santiago(2026, 1, 20, 9, 0))
    assert _cancel_prorated(trial, santiago(2026, 1, 20, 9, 0)) == []
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 3, 1, 9, 0))
    assert _cancel_prorated(paused, santiago(2026, 3, 1, 9, 0)) == []  # Feb 15 was not billed
    for subscription in (trial, paused):
        subscription.refresh_from_db()
        assert subscription.status == SubscriptionStatus.CANCELLED


def test_prorate_at_period_end_is_refused() -> None:
    now = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    with pytest.raises(InvalidInput) as error:
        services.subscription_cancel(
            subscription=subscription, now=now, at_period_end=True, prorate=True
        )
    assert "prorate" in error.value.errors
    subscription.refresh_from_db()
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", False)


def test_a_cycle_invoice_the_agency_rejects_flags_its_subscription_with_the_reason() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start, tax_id="76086428-5")
    unregistered = CustomerFactory(workspace=workspace, test_mode=True, tax_id="11111111-1")
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)], customer=unregistered)
    invoice = Invoice.objects.get(subscription_id=subscription.id)

    # Each submit and poll the moment it is due, as beat would.
    at = timezone.now()
    while (at := tax_agency_attempt(document_id=invoice.pk, clock=lambda: at)) is not None:
        pass

    invoice.refresh_from_db()
    assert invoice.biller_status == "failed"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.NEEDS_ATTENTION
    assert subscription.needs_attention_reason == "biller_issue"
    assert subscription.status_description == (
        f"The tax agency did not accept invoice {invoice.id}: "
        "11111111-1 is not registered with the tax agency. (customer_not_registered)"
    )
