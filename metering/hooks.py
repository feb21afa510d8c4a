"""What metering offers the floors below it, registered in MeteringConfig.ready."""

from metering.models import Meter
from metering.services.usage import usage_quantities

__all__ = ["meter_exists", "usage_quantities"]


def meter_exists(*, workspace_id: str, test_mode: bool, meter_id: str) -> bool:
    return Meter.objects.filter(
        workspace_id=workspace_id, test_mode=test_mode, pk=meter_id
    ).exists()
