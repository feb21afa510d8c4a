"""Billing calendar: period boundaries in a workspace's local dates (rules.md §6).

Pure functions over dates, no clock. Boundaries are counted from an anchor date: the
k-th boundary is `anchor + k × frequency`, computed from the anchor each time (never from
the previous boundary), so month arithmetic keeps the anchor day and clamps to the end
of shorter months: anchored on the 31st → Jan 31, Feb 28 (29 in leap years), Mar 31.
Periods are half-open [start, end).
"""

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from catalog.choices import PlanFrequency

MONTHS = {
    PlanFrequency.MONTHLY: 1,
    PlanFrequency.QUARTERLY: 3,
    PlanFrequency.BIANNUAL: 6,
    PlanFrequency.ANNUAL: 12,
}
WEEK = timedelta(days=7)


def add_months(anchor: date, months: int) -> date:
    month_index = anchor.month - 1 + months
    year, month = anchor.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def _clamped(year: int, month: int, day_of_month: int) -> date:
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def day_anchor(start: date, day_of_month: int, frequency: str) -> date:
    """The anchor of periods that begin on `day_of_month`, for a subscription billed from
    `start`: its boundaries include the first date on or after `start` on that day (the
    31st clamps to Feb 28), and its own day is the day itself wherever a month of its
    series has one, so later boundaries come back to it (Feb 28, Mar 31)."""
    first = _clamped(start.year, start.month, day_of_month)
    if first < start:
        following = add_months(date(start.year, start.month, 1), 1)
        first = _clamped(following.year, following.month, day_of_month)
    step = MONTHS[PlanFrequency(frequency)]
    # Four years of the series hold its longest month (a leap February for annual); the
    # earliest that has the day does.
    series = [add_months(date(first.year, first.month, 1), k * step) for k in range(48 // step)]
    return max((_clamped(m.year, m.month, day_of_month) for m in series), key=lambda d: d.day)


# A cycle asks for the same few boundaries of thousands of subscriptions sharing anchors.
@lru_cache(maxsize=4096)
def boundary(anchor: date, frequency: str, k: int) -> date:
    """The k-th period boundary after the anchor (k may be negative)."""
    if frequency == PlanFrequency.WEEKLY:
        return anchor + k * WEEK
    return add_months(anchor, k * MONTHS[PlanFrequency(frequency)])


def _index_at_or_before(anchor: date, frequency: str, day: date) -> int:
    """The largest k whose boundary is on or before `day`."""
    if frequency == PlanFrequency.WEEKLY:
        return (day - anchor).days // 7
    step = MONTHS[PlanFrequency(frequency)]
    k = ((day.year - anchor.year) * 12 + day.month - anchor.month) // step
    while boundary(anchor, frequency, k) > day:
        k -= 1
    while boundary(anchor, frequency, k + 1) <= day:
        k += 1
    return k


def boundary_on_or_after(anchor: date, frequency: str, day: date) -> date:
    k = _index_at_or_before(anchor, frequency, day)
    start = boundary(anchor, frequency, k)
    return start if start == day else boundary(anchor, frequency, k + 1)


def boundary_after(anchor: date, frequency: str, day: date) -> date:
    return boundary(anchor, frequency, _index_at_or_before(anchor, frequency, day) + 1)


def period_containing(anchor: date, frequency: str, day: date) -> tuple[date, date]:
    """The full period [start, end) that holds `day`."""
    k = _index_at_or_before(anchor, frequency, day)
    return boundary(anchor, frequency, k), boundary(anchor, frequency, k + 1)


def local_midnight(day: date, timezone_name: str) -> datetime:
    """The instant a local date begins, in UTC. Santiago moves its clocks forward at
    midnight (00:00 → 01:00 in September), so that day has no 00:00: `fold=0` takes the
    offset in force before the gap, which lands on 01:00, when the day really begins."""
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone_name))
    return local.astimezone(UTC)
