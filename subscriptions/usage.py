"""Usage of metered lines, as the billing cycle needs it.

Metered plans bill in arrears (rules.md §6): a cycle's invoice carries the usage of the
period just ended. Usage is counted by the metering app, a floor above this one, so the
cycle asks through `usage_quantities`, which metering fills (`usage_rows_register`)
when the apps are ready. Without it a metered line has no usage and bills zero.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from catalog.choices import UsageScheme
from catalog.models import Plan
from subscriptions.models import EndedLine, Subscription, SubscriptionLine


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


def metered_line(
    subscription: Subscription, line: SubscriptionLine | EndedLine, start: datetime, end: datetime
) -> MeteredLine:
    customer = subscription.customer
    return MeteredLine(
        key=usage_key(line),
        plan=line.plan,
        subscription_id=subscription.pk,
        customer_id=customer.pk,
        customer_reference=customer.reference,
        start=start,
        end=end,
    )


def usage_quantities(
    *, workspace_id: str, test_mode: bool, lines: Sequence[MeteredLine]
) -> dict[str, Decimal]:
    """Each metered line's usage over its window, by key (0 when nothing counts it)."""
    found: dict[str, Decimal] = {}
    if lines and _usage_quantities:
        found = _usage_quantities[0](workspace_id=workspace_id, test_mode=test_mode, lines=lines)
    return {line.key: found.get(line.key, Decimal(0)) for line in lines}
