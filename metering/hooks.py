"""What metering offers the floors below it, registered in MeteringConfig.ready."""

from catalog.choices import UsageAggregation
from metering.choices import Aggregation
from metering.models import Meter
from metering.services.usage import usage_quantities

__all__ = ["meter_aggregation", "usage_quantities"]

# A meter's aggregation as a plan's usage_aggregation names it, where one is the same.
_AS_USAGE_AGGREGATION: dict[str, str] = {Aggregation.LATEST: UsageAggregation.LAST_RECORD}


def meter_aggregation(*, workspace_id: str, test_mode: bool, meter_id: str) -> str | None:
    """How the tenant's meter `meter_id` counts, in a plan's usage_aggregation's words
    when they have one for it; None when the tenant has no such meter."""
    # Locked until the plan is saved: meanwhile the meter is neither deleted nor changed
    # in what it counts (metering.services.meters), which both read the plans after.
    aggregation = (
        Meter.objects.select_for_update()
        .filter(workspace_id=workspace_id, test_mode=test_mode, pk=meter_id)
        .values_list("aggregation", flat=True)
        .first()
    )
    if aggregation is None:
        return None
    return str(_AS_USAGE_AGGREGATION.get(aggregation, aggregation))
