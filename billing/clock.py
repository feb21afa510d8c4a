"""What time it is for a workspace: the one place domain time comes from.

Live mode runs on the real clock. Test mode runs on the workspace's test clock once one
is set (`Workspace.test_clock_at`): it stands still until advanced, so a test or a user
can run a year of billing cycles in one call. Views, tasks and beat ask here and hand
`now` to services; services never read the system clock.
"""

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from django.db.models import F, Max, Q
from django.utils import timezone

from billing.models import Workspace


def real_now() -> datetime:
    return timezone.now()


def clock_now(*, workspace: Workspace, test_mode: bool) -> datetime:
    return tenant_time(workspace=workspace, test_mode=test_mode, real=real_now())


class Tenanted(Protocol):
    """A record of one workspace and mode: a document, a payment link, an intent."""

    @property
    def workspace(self) -> Workspace: ...

    @property
    def test_mode(self) -> bool: ...


def clock_now_for(record: Tenanted) -> datetime:
    """The time of the workspace and mode `record` lives in: for interfaces that act on
    a record without a tenant request (admin actions, hosted pages, payer actions)."""
    return clock_now(workspace=record.workspace, test_mode=record.test_mode)


def tenant_time(*, workspace: Workspace, test_mode: bool, real: datetime) -> datetime:
    """The tenant's time when the real time is `real`: for work scheduled on the real
    clock (beat, countdowns) that acts in a tenant's world, e.g. the tax agency judging a
    test-clock invoice's date."""
    if test_mode and workspace.test_clock_at is not None:
        return workspace.test_clock_at
    return real


def workspace_today(workspace: Workspace, now: datetime) -> date:
    """The date in the workspace's timezone at `now`: a document's default date, the day a
    coupon or a pause is judged by."""
    return local_date(now, workspace.timezone)


def local_date(instant: datetime, timezone_name: str) -> date:
    return timezone.localdate(instant, ZoneInfo(timezone_name))


def reached_on_clock(field: str, now: datetime, workspace: Workspace | None, test_mode: bool) -> Q:
    """Rows whose `field` has come. For the one tenant named, on `now`. Otherwise on each
    tenant's clock: live mode and test mode without a test clock run on `now` (the real
    clock); a test clock runs on its own time."""
    reached = {f"{field}__lte": now}
    if workspace is not None:
        return Q(workspace=workspace, test_mode=test_mode, **reached)
    on_clock = (
        Q(test_mode=False, **reached)
        | Q(test_mode=True, workspace__test_clock_at__isnull=True, **reached)
        | Q(test_mode=True, **{f"{field}__lte": F("workspace__test_clock_at")})
    )
    # What every branch implies, in a form an index on `field` can range over: the
    # branch on a test clock compares two columns, so without it PostgreSQL reads the
    # whole table, the rows whose time is far off included, on every batch. The latest
    # clock is read first and given as a value: PostgreSQL estimates a bound it knows
    # from the column's statistics, but one computed in the statement as a third of the
    # table, which it then reads whole rather than through the index.
    latest_clock = Workspace.objects.aggregate(latest=Max("test_clock_at"))["latest"]
    bound = now if latest_clock is None else max(now, latest_clock)
    return on_clock & Q(**{f"{field}__lte": bound})
