"""Period boundaries: month ends, leap years, every frequency, DST, and timezones."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.clock import local_date
from billing.errors import InvalidInput
from subscriptions.calendar import (
    boundary,
    boundary_after,
    boundary_on_or_after,
    day_anchor,
    local_midnight,
    period_containing,
)
from subscriptions.models import Subscription
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import invoice_rows, plan_of, santiago, subscribe, workspace_at

D = Decimal


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        # The 31st clamps to each month's end and comes back in 31-day months.
        (date(2026, 1, 31), [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]),
        # Leap year: February 29.
        (date(2024, 1, 31), [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]),
        (date(2024, 1, 30), [date(2024, 2, 29), date(2024, 3, 30), date(2024, 4, 30)]),
        (date(2026, 1, 30), [date(2026, 2, 28), date(2026, 3, 30), date(2026, 4, 30)]),
        (date(2026, 1, 29), [date(2026, 2, 28), date(2026, 3, 29), date(2026, 4, 29)]),
        (date(2028, 1, 29), [date(2028, 2, 29), date(2028, 3, 29), date(2028, 4, 29)]),
    ],
)
def test_monthly_boundaries_keep_the_anchor_day_and_clamp(anchor: date, expected: list) -> None:
    assert [boundary(anchor, "monthly", k) for k in (1, 2, 3)] == expected


@pytest.mark.parametrize(
    ("frequency", "anchor", "expected"),
    [
        ("weekly", date(2026, 2, 26), [date(2026, 3, 5), date(2026, 3, 12), date(2026, 3, 19)]),
        ("quarterly", date(2025, 11, 30),
         [date(2026, 2, 28), date(2026, 5, 30), date(2026, 8, 30)]),
        ("biannual", date(2023, 8, 31), [date(2024, 2, 29), date(2024, 8, 31), date(2025, 2, 28)]),
        ("annual", date(2024, 2, 29), [date(2025, 2, 28), date(2026, 2, 28), date(2028, 2, 29)]),
    ],
)  # fmt: skip
def test_other_frequencies(frequency: str, anchor: date, expected: list) -> None:
    ks = (1, 2, 4) if frequency == "annual" else (1, 2, 3)
    assert [boundary(anchor, frequency, k) for k in ks] == expected


def test_boundaries_around_a_day() -> None:
    anchor = date(2024, 1, 31)
    assert boundary_on_or_after(anchor, "monthly", date(2024, 2, 29)) == date(2024, 2, 29)
    assert boundary_on_or_after(anchor, "monthly", date(2024, 3, 1)) == date(2024, 3, 31)
    assert boundary_after(anchor, "monthly", date(2024, 2, 29)) == date(2024, 3, 31)
    assert period_containing(anchor, "monthly", date(2024, 3, 15)) == (
        date(2024, 2, 29),
        date(2024, 3, 31),
    )
    # Before the anchor too (a change dated before the first boundary).
    assert period_containing(anchor, "weekly", date(2024, 1, 30)) == (
        date(2024, 1, 24),
        date(2024, 1, 31),
    )


def test_days_begin_at_local_midnight_through_santiago_dst() -> None:
    # Santiago: UTC−3 in summer, UTC−4 in winter. Clocks go back on 2026-04-05 (00:00
    # happens once, at −04) and forward on 2026-09-06 (00:00 does not exist: the day
    # begins at 01:00 −03, which is 04:00 UTC).
    tz = "America/Santiago"
    assert local_midnight(date(2026, 4, 4), tz) == datetime(2026, 4, 4, 3, tzinfo=UTC)
    assert local_midnight(date(2026, 4, 5), tz) == datetime(2026, 4, 5, 4, tzinfo=UTC)
    assert local_midnight(date(2026, 9, 6), tz) == datetime(2026, 9, 6, 4, tzinfo=UTC)
    assert local_midnight(date(2026, 9, 7), tz) == datetime(2026, 9, 7, 3, tzinfo=UTC)
    assert local_date(datetime(2026, 9, 6, 3, 59, tzinfo=UTC), tz) == date(2026, 9, 5)
    assert local_date(datetime(2026, 9, 6, 4, 0, tzinfo=UTC), tz) == date(2026, 9, 6)


@pytest.mark.django_db
def test_a_workspace_in_utc_and_one_in_santiago_bill_at_their_own_midnights() -> None:
    # Both start on 2026-03-01 (local); their next billing is April 1st, local midnight.
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    in_utc = workspace_at(now, timezone="UTC")
    in_santiago = workspace_at(now)
    utc_sub = subscribe(in_utc, now, [(plan_of(in_utc), 1)])
    cl_sub = subscribe(in_santiago, now, [(plan_of(in_santiago), 1)])
    assert utc_sub.next_billing == cl_sub.next_billing == date(2026, 4, 1)
    assert utc_sub.next_billing_at == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    # Santiago is still on summer time (−03) on April 1st 2026.
    assert cl_sub.next_billing_at == datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_the_date_of_now_is_the_workspaces_date() -> None:
    # 01:30 UTC on March 1st is still February 28th in Santiago: the subscription starts
    # (and is first billed) on the 28th there, and its anchor keeps the 28th.
    now = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    fresh = Subscription.objects.get(pk=subscription.pk)
    assert fresh.date_start == fresh.previous_billing == date(2026, 2, 28)
    assert fresh.next_billing == date(2026, 3, 28)
    assert santiago(2026, 3, 28, 0, 0) == fresh.next_billing_at


@pytest.mark.parametrize(
    ("start", "day", "frequency", "anchor", "first"),
    [
        (date(2026, 1, 10), 15, "monthly", date(2026, 1, 15), date(2026, 1, 15)),
        (date(2026, 1, 15), 15, "monthly", date(2026, 1, 15), date(2026, 1, 15)),
        (date(2026, 1, 16), 15, "monthly", date(2026, 2, 15), date(2026, 2, 15)),
        (date(2026, 12, 20), 5, "monthly", date(2027, 1, 5), date(2027, 1, 5)),
        # February has no 31st: its boundary is the 28th, the anchor March 31st.
        (date(2026, 2, 10), 31, "monthly", date(2026, 3, 31), date(2026, 2, 28)),
        (date(2026, 2, 28), 31, "monthly", date(2026, 3, 31), date(2026, 2, 28)),
        (date(2026, 4, 10), 31, "monthly", date(2026, 5, 31), date(2026, 4, 30)),
        (date(2028, 2, 1), 30, "monthly", date(2028, 3, 30), date(2028, 2, 29)),
        # Quarterly from Feb 28: Feb 28, May 31, Aug 31, Nov 30.
        (date(2026, 2, 20), 31, "quarterly", date(2026, 5, 31), date(2026, 2, 28)),
        # Annual in February: a leap year's 29th anchors it, so leap years bill the 29th.
        (date(2026, 2, 1), 31, "annual", date(2028, 2, 29), date(2026, 2, 28)),
    ],
)
def test_a_day_of_the_month_anchors_on_that_day_and_clamps(
    start: date, day: int, frequency: str, anchor: date, first: date
) -> None:
    assert day_anchor(start, day, frequency) == anchor
    assert boundary_on_or_after(anchor, frequency, start) == first


def test_a_day_of_month_anchor_keeps_the_day_after_clamping() -> None:
    anchor = day_anchor(date(2026, 2, 20), 31, "quarterly")
    assert [boundary_on_or_after(anchor, "quarterly", d) for d in (
        date(2026, 3, 1), date(2026, 6, 1), date(2026, 9, 1), date(2027, 1, 1)
    )] == [date(2026, 5, 31), date(2026, 8, 31), date(2026, 11, 30), date(2027, 2, 28)]  # fmt: skip
    annual = day_anchor(date(2026, 2, 1), 31, "annual")
    assert [boundary(annual, "annual", k) for k in (-2, -1, 0, 1)] == [
        date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29), date(2029, 2, 28),
    ]  # fmt: skip


@pytest.mark.django_db
def test_a_day_of_month_anchor_bills_a_prorated_first_period_then_keeps_the_day() -> None:
    # Arrange: 10,000 a month from Feb 10, anchored on the 31st.
    start = santiago(2026, 2, 10, 9, 0)
    workspace = workspace_at(start)

    # Act
    subscription = subscribe(workspace, start, [(plan_of(workspace), 1)], billing_anchor=31)
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 6, 1, 9, 0))

    # Assert: Feb 10 - Feb 28 is 18 of the 28 days of [Jan 31, Feb 28): 10,000 × 18/28 =
    # 6,428.57 → 6,429 + IVA 1,222 (19% of 6,429 = 1,221.51). Then whole months on the
    # 31st, clamped to 28, 30 and 31.
    assert [row[2:4] + row[5:] for row in invoice_rows(subscription)] == [
        (date(2026, 2, 10), date(2026, 2, 28), D(6429), D(1222), D(7651)),
        (date(2026, 2, 28), date(2026, 3, 31), D(10000), D(1900), D(11900)),
        (date(2026, 3, 31), date(2026, 4, 30), D(10000), D(1900), D(11900)),
        (date(2026, 4, 30), date(2026, 5, 31), D(10000), D(1900), D(11900)),
        (date(2026, 5, 31), date(2026, 6, 30), D(10000), D(1900), D(11900)),
    ]
    subscription.refresh_from_db()
    assert subscription.billing_anchor == date(2026, 3, 31)
    assert subscription.next_billing == date(2026, 6, 30)


@pytest.mark.django_db
def test_a_day_of_month_anchor_on_the_start_day_bills_whole_periods() -> None:
    # Feb 28 is the 31st's day in February: no short period; quarterly comes back to
    # the 31st in May and August.
    start = santiago(2026, 2, 28, 9, 0)
    workspace = workspace_at(start)
    plan = plan_of(workspace, frequency="quarterly")
    subscription = subscribe(workspace, start, [(plan, 1)], billing_anchor=31)
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 9, 1, 9, 0))
    assert [row[2:4] + row[5:6] for row in invoice_rows(subscription)] == [
        (date(2026, 2, 28), date(2026, 5, 31), D(10000)),
        (date(2026, 5, 31), date(2026, 8, 31), D(10000)),
        (date(2026, 8, 31), date(2026, 11, 30), D(10000)),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("frequency", "anchor", "message"),
    [
        ("weekly", 5, "Weekly plans are anchored on a date"),
        ("monthly", 0, "1 to 31"),
        ("monthly", 32, "1 to 31"),
    ],
)
def test_a_day_of_month_anchor_is_refused_where_it_means_nothing(
    frequency: str, anchor: int, message: str
) -> None:
    start = santiago(2026, 2, 10, 9, 0)
    workspace = workspace_at(start)
    with pytest.raises(InvalidInput) as raised:
        subscribe(
            workspace, start, [(plan_of(workspace, frequency=frequency), 1)],
            billing_anchor=anchor,
        )  # fmt: skip
    assert message in raised.value.errors["billing_anchor"][0]
