"""Thin tasks: one domain call each, safe to run twice (items are done once)."""

from celery import shared_task
from django.utils import timezone

from bulks import services


@shared_task
def process_bulk(bulk_id: str, **_: object) -> int:
    return services.bulk_process(bulk_id=bulk_id, clock=timezone.now)


@shared_task
def process_unfinished_bulks(**_: object) -> int:
    """Beat: queue again the bulks whose message was lost or whose worker died."""
    unfinished = services.bulks_unfinished()
    for bulk_id in unfinished:
        process_bulk.delay(bulk_id=bulk_id)
    return len(unfinished)
