"""Usage: a meter's value for a customer over a window, and the metered lines' usage
a billing cycle asks for (registered as subscriptions.usage's hook)."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from billing.money import QUANTITY_LIMIT
from catalog.choices import UsageAggregation
from catalog.models import Plan
from metering.choices import Aggregation, GroupBy
from metering.models import Meter
from metering.selectors import customer_keys, customers_by_key, former_references, meter_spec
from metering.store import MeterSpec, Tenant, UsageQuery, UsageRow, Window, event_store
from subscriptions.usage import MeteredLine

# Piriod's usage records are events named after their plan, keyed by subscription; no
# event sent to /events/ may bear a name of theirs (events.py).
USAGE_RECORD_EVENT = "usage_record:"
USAGE_RECORD_FIELD = "quantity"
RESERVED_EVENT_NAME = (
    f"Event names starting with {USAGE_RECORD_EVENT!r} are reserved for the usage "
    "records of /usages/."
)
_RECORD_AGGREGATION: dict[str, str] = {
    UsageAggregation.SUM: Aggregation.SUM,
    UsageAggregation.MAX: Aggregation.MAX,
    UsageAggregation.LAST_RECORD: Aggregation.LATEST,
}


def is_reserved_event_name(event_name: str) -> bool:
    """Whether `event_name` is in the usage records' namespace: no event sent to /events/
    may bear it, so no meter may count it either."""
    return event_name.startswith(USAGE_RECORD_EVENT)


@dataclass(frozen=True)
class Usage:
    meter: Meter
    customer: str  # the customer's id, or the key as sent when no customer has it
    start: datetime
    end: datetime
    value: Decimal
    groups: list[UsageRow]


def usage_for_customer(
    *,
    workspace: Workspace,
    test_mode: bool,
    meter: Meter,
    customer: str,
    start: datetime,
    end: datetime,
    group_by: str | None = None,
    group_property: str = "",
) -> Usage:
    """The meter's value for `customer` (id or reference) over [start, end), and per day
    (in the workspace's timezone) or per value of a property when grouped. A key no
    customer has yet is read as it was sent: its events are kept too."""
    if end <= start:
        raise InvalidInput({"end": ["Must be after start."]})
    if group_by == GroupBy.PROPERTY and not group_property:
        raise InvalidInput({"property": ["Required to group by property."]})
    found = customers_by_key(workspace_id=workspace.pk, test_mode=test_mode, keys=[customer])
    named = found.get(customer)
    keys: tuple[str, ...] = (customer,)
    if named is not None:
        former = former_references(
            workspace_id=workspace.pk, test_mode=test_mode, customer_ids=[named.pk]
        )
        keys = customer_keys(
            customer_id=named.pk, reference=named.reference, former=former.get(named.pk, ())
        )
    tenant = Tenant(workspace_id=workspace.pk, test_mode=test_mode)
    query = UsageQuery(
        meter=meter_spec(meter), customer_keys=keys, start=start, end=end,
        timezone=workspace.timezone,
    )  # fmt: skip
    store = event_store()
    total = store.usage(tenant=tenant, query=query)[0].value
    groups: list[UsageRow] = []
    if group_by is not None:
        grouped = UsageQuery(
            meter=query.meter, customer_keys=keys, start=start, end=end, group_by=group_by,
            group_property=group_property, timezone=workspace.timezone,
        )  # fmt: skip
        groups = store.usage(tenant=tenant, query=grouped)
    for value in (total, *(row.value for row in groups)):
        _check_in_range(meter, value)
    return Usage(
        meter=meter,
        customer=named.pk if named else customer,
        start=start,
        end=end,
        value=total,
        groups=groups,
    )


def _check_in_range(meter: Meter, value: Decimal) -> None:
    """A meter's value is a quantity an invoice line could bill. Events are checked as
    they come in, but a number as text is counted whatever its size, as were numbers
    stored before they were checked."""
    if abs(value) >= QUANTITY_LIMIT:
        raise DomainError(
            "usage_out_of_range",
            f"Meter {meter.pk} counts {value:.3e} over this window: usage is less than "
            f"10^{QUANTITY_LIMIT.adjusted()} in absolute value, what an invoice line holds. "
            f"Check the events' {meter.field!r} property.",
        )


def record_meter(plan: Plan) -> MeterSpec:
    """The meter Piriod's usage records of a metered plan without a meter are read by; a
    record with action `set` starts its window's usage over."""
    return MeterSpec(
        event_name=USAGE_RECORD_EVENT + plan.pk,
        aggregation=_RECORD_AGGREGATION.get(plan.usage_aggregation, str(Aggregation.SUM)),
        field=USAGE_RECORD_FIELD,
        resets=True,
    )


def usage_quantities(
    *, workspace_id: str, test_mode: bool, lines: Sequence[MeteredLine]
) -> dict[str, Decimal]:
    """Each metered line's usage over its window: one query per meter. A plan with a
    meter counts its customer's events; one without counts its usage records."""
    meters = {
        m.pk: m
        for m in Meter.objects.filter(
            workspace_id=workspace_id,
            test_mode=test_mode,
            pk__in={line.plan.meter_id for line in lines if line.plan.meter_id},
        )
    }
    former = former_references(
        workspace_id=workspace_id,
        test_mode=test_mode,
        customer_ids=[line.customer_id for line in lines if line.plan.meter_id],
    )
    by_meter: dict[MeterSpec, list[Window]] = defaultdict(list)
    for line in lines:
        key = line.key
        meter = meters.get(line.plan.meter_id or "")
        if meter is not None:
            keys = customer_keys(
                customer_id=line.customer_id,
                reference=line.customer_reference,
                former=former.get(line.customer_id, ()),
            )
            window = Window(key, keys, line.start, line.end)
            by_meter[meter_spec(meter)].append(window)
        elif line.plan.meter_id is None:
            window = Window(key, (line.subscription_id,), line.start, line.end)
            by_meter[record_meter(line.plan)].append(window)
    tenant = Tenant(workspace_id=workspace_id, test_mode=test_mode)
    quantities: dict[str, Decimal] = {}
    for spec, windows in by_meter.items():
        quantities.update(event_store().usage_windows(tenant=tenant, meter=spec, windows=windows))
    return quantities
