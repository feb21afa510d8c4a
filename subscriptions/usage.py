"""Usage of metered lines, as the billing cycle needs it.

Metered plans bill in arrears (rules.md §6): a cycle's invoice carries the usage of the
period just ended. Usage is counted by the metering app, a floor above this one, so the
cycle asks through `usage_quantities`, which metering fills (`usage_rows_register`)
when the apps are ready. Without it a metered line has no usage and bills zero.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from catalog.choices import UsageScheme
from catalog.models import Plan
from subscriptions.models import EndedLine, PausedSpan, Subscription, SubscriptionLine


@dataclass(frozen=True)
class MeteredLine:
    """A metered line of a subscription (or one it had: an ended line), and the window
    its usage is counted over."""

    key: str  # usage_key(line)
    plan: Plan
    subscription_id: str
    customer_id: str
    customer_reference: str | None
    start: datetime
    end: datetime


# quantities(workspace_id=…, test_mode=…, lines=[MeteredLine]) → {key: quantity}
UsageQuantities = Callable[..., dict[str, Decimal]]
_usage_quantities: list[UsageQuantities] = []


def usage_rows_register(quantities: UsageQuantities) -> None:
    _usage_quantities[:] = [quantities]


def is_metered(plan: Plan) -> bool:
    return plan.usage_scheme == UsageScheme.METERED


def usage_key(line: SubscriptionLine | EndedLine) -> str:
    """A line's key in the usage a cycle asks for; lines and ended lines apart."""
    return f"{'ended' if isinstance(line, EndedLine) else 'line'} {line.pk}"


def unpaused_windows(
    start: datetime, end: datetime, paused: Sequence[PausedSpan]
) -> list[tuple[datetime, datetime]]:
    """[start, end) less the times the subscription was paused (a pause still running
    lasts past `end`): usage recorded while paused is never billed (rules.md §6). At
    least one window, empty when all of it was paused, so the line is still counted (0)."""
    windows: list[tuple[datetime, datetime]] = []
    cursor = start
    for span in sorted(paused, key=lambda span: span.paused_at):
        resumed_at = span.resumed_at or end
        if resumed_at <= cursor or span.paused_at >= end:
            continue
        if span.paused_at > cursor:
            windows.append((cursor, span.paused_at))
        cursor = max(cursor, resumed_at)
    if cursor < end:
        windows.append((cursor, end))
    return windows or [(start, start)]


def metered_lines(
    subscription: Subscription,
    line: SubscriptionLine | EndedLine,
    start: datetime,
    end: datetime,
    paused: Sequence[PausedSpan] = (),
) -> list[MeteredLine]:
    """The line's usage windows over [start, end) outside its subscription's pauses, all
    under the line's key: the stores count the events of every window of a key together,
    so a max or a unique count is over all of them."""
    customer = subscription.customer
    return [
        MeteredLine(
            key=usage_key(line),
            plan=line.plan,
            subscription_id=subscription.pk,
            customer_id=customer.pk,
            customer_reference=customer.reference,
            start=window_start,
            end=window_end,
        )
        for window_start, window_end in unpaused_windows(start, end, paused)
    ]


# A tenant's usage is read for billing under this lock held exclusively, from before the
# read until the transaction that writes its invoices commits; events are stored, and
# judged late, under it held shared. So an event either commits before a cycle counts
# usage (and is billed) or waits for the cycle's commit (and sees its period invoiced).
# The two-key form keeps these locks apart from any taken with one bigint key.
_USAGE_LOCK = "pg_advisory_xact_lock{mode}(5700411, hashtext(%s))"


def _lock_key(workspace_id: str, test_mode: bool) -> str:
    return f"{workspace_id}:{'test' if test_mode else 'live'}"


def usage_lock_statements(*, workspace_id: str, test_mode: bool) -> list[tuple[str, list[Any]]]:
    """The statement that takes a tenant's usage lock shared, for an ingesting transaction
    to run before it reads what is invoiced; none outside PostgreSQL."""
    if connection.vendor != "postgresql":
        return []
    sql = "SELECT " + _USAGE_LOCK.format(mode="_shared")
    return [(sql, [_lock_key(workspace_id, test_mode)])]


def usage_lock_exclusive(tenants: Iterable[tuple[str, bool]]) -> None:
    """Take the usage lock of each tenant (workspace id, test mode) exclusively, until the
    transaction ends; in one order, so two cycles never deadlock on them. SQLite
    serializes its writers anyway: there it does nothing."""
    ordered = sorted(set(tenants))
    if not ordered or connection.vendor != "postgresql":
        return
    locks = ", ".join([_USAGE_LOCK.format(mode="")] * len(ordered))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {locks}", [_lock_key(*tenant) for tenant in ordered])


def usage_quantities(
    *, workspace_id: str, test_mode: bool, lines: Sequence[MeteredLine]
) -> dict[str, Decimal]:
    """Each metered line's usage over its window, by key (0 when nothing counts it)."""
    found: dict[str, Decimal] = {}
    if lines and _usage_quantities:
        found = _usage_quantities[0](workspace_id=workspace_id, test_mode=test_mode, lines=lines)
    return {line.key: found.get(line.key, Decimal(0)) for line in lines}
