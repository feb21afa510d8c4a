"""Thin tasks: each makes one domain call. All are safe to run twice, and ignore keyword
arguments they do not know (a message from an older or newer release during a deploy)."""

from collections.abc import Sequence

from celery import shared_task
from django.utils import timezone

from webhooks import services
from webhooks.sender import post

# Retries further away than this are left to the beat sweep instead of a countdown, so
# no message waits on the broker for hours (Redis would hand it out again meanwhile).
_COUNTDOWN_LIMIT_SECONDS = 300


@shared_task
def publish_event(event_id: str, **_: object) -> None:
    _publish([event_id])


@shared_task
def publish_events(event_ids: list[str], **_: object) -> None:
    _publish(event_ids)


@shared_task
def send_delivery(delivery_id: str, **_: object) -> None:
    _deliver([delivery_id])


@shared_task
def send_due_deliveries(**_: object) -> int:
    due = services.deliveries_due(now=timezone.now())
    for delivery_id in due:
        send_delivery.delay(delivery_id=delivery_id)
    return len(due)


def _publish(event_ids: list[str]) -> None:
    publication = services.events_publish(event_ids=event_ids, now=timezone.now())
    _deliver(publication.ready, started=publication.started)


def _deliver(delivery_ids: list[str], started: Sequence[services.OutgoingRequest] = ()) -> None:
    """Send the deliveries here (`started` ones already leased), then each object's next
    one as the earlier succeeds: a hop through the broker saved per delivery is most of
    a delivery's cost."""
    while delivery_ids or started:
        outcome = services.deliveries_attempt(
            delivery_ids=delivery_ids, clock=timezone.now, transport=post, started=started
        )
        started = ()
        for delivery_id, retry_at in outcome.retries.items():
            wait = (retry_at - timezone.now()).total_seconds()
            if wait <= _COUNTDOWN_LIMIT_SECONDS:
                send_delivery.apply_async(
                    kwargs={"delivery_id": delivery_id}, countdown=max(wait, 0)
                )
        delivery_ids = outcome.send_now
