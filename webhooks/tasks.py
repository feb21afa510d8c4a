"""Thin tasks: each makes one domain call. All are safe to run twice, and ignore keyword
arguments they do not know (a message from an older or newer release during a deploy)."""

from celery import shared_task
from django.utils import timezone

from webhooks import services
from webhooks.sender import post

# Retries further away than this are left to the beat sweep instead of a countdown, so
# no message waits on the broker for hours (Redis would hand it out again meanwhile).
_COUNTDOWN_LIMIT_SECONDS = 300


@shared_task
def publish_event(event_id: str, **_: object) -> None:
    _deliver(services.event_fan_out(event_id=event_id, now=timezone.now()))


@shared_task
def send_delivery(delivery_id: str, **_: object) -> None:
    _deliver([delivery_id])


@shared_task
def send_due_deliveries(**_: object) -> int:
    due = services.deliveries_due(now=timezone.now())
    for delivery_id in due:
        send_delivery.delay(delivery_id=delivery_id)
    return len(due)


def _deliver(delivery_ids: list[str]) -> None:
    """Send the first delivery here and queue the others; then follow its object's next
    delivery here too. Each hop saved through the broker is most of a delivery's cost,
    while a queued delivery goes out on another worker thread, so a slow receiver holds
    up no other endpoint."""
    while delivery_ids:
        delivery_id, *others = delivery_ids
        for other_id in others:
            send_delivery.delay(delivery_id=other_id)
        outcome = services.delivery_attempt(
            delivery_id=delivery_id, clock=timezone.now, transport=post
        )
        if outcome is None:
            return
        if outcome.retry_at is not None:
            wait = (outcome.retry_at - timezone.now()).total_seconds()
            if wait <= _COUNTDOWN_LIMIT_SECONDS:
                send_delivery.apply_async(
                    kwargs={"delivery_id": delivery_id}, countdown=max(wait, 0)
                )
        delivery_ids = outcome.send_now
