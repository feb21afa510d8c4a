from typing import Any

from celery import shared_task

from billing.clock import real_now
from metering.store.partitions import partitions_ensure


@shared_task
def ensure_event_partitions(**_: Any) -> None:
    # Partitions follow the real calendar: test clocks only move test-mode timestamps,
    # which the default partition takes when they run past the created months.
    partitions_ensure(today=real_now().date())
