"""What time it is for a workspace: the one place domain time comes from.

Live mode runs on the real clock. Test mode runs on the workspace's test clock once one
is set (`Workspace.test_clock_at`): it stands still until advanced, so a test or a user
can run a year of billing cycles in one call. Views, tasks and beat ask here and hand
`now` to services; services never read the system clock.
"""

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

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
