"""Thin tasks: each makes one domain call. All are safe to run twice, and ignore keyword
arguments they do not know (a message from an older or newer release during a deploy)."""

from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from payments import services


@shared_task
def expire_due_checkouts(**_: object) -> int:
    """Beat: expire intents past `expires_at` and payments past their authentication
    window; a second run finds nothing left to do."""
    return services.checkouts_expire_due(now=timezone.now())


@shared_task
def process_stripe_event(event_id: str, **_: object) -> str:
    """Apply one stored Stripe event; a second run finds it processed and does nothing."""
    return services.stripe_event_process(event_id=event_id, now=timezone.now()).status


@shared_task
def process_received_stripe_events(**_: object) -> int:
    """Beat: process the Stripe events whose task was never queued (the broker was down
    when they arrived)."""
    grace = timedelta(seconds=settings.QUEUED_WORK_GRACE_SECONDS)
    return services.stripe_events_process_received(now=timezone.now(), older_than=grace)


@shared_task(bind=True, max_retries=5)
def sync_for_event(self: Task, event_id: str, **_: object) -> str:
    """An outbox consumer: a customer's change, or an invoice's, is copied to Stripe when
    it is connected. A failed copy is retried with a growing wait (the error shows on the
    customer or invoice); one that found another run of the same invoice at work (busy)
    is tried again shortly."""
    outcome = services.stripe_sync_for_event(event_id=event_id, now=timezone.now())
    if outcome == "busy":  # the other run takes seconds; then this one checks its work
        raise self.retry(countdown=5)
    if outcome == "failed":
        raise self.retry(countdown=30 * 2**self.request.retries)
    return outcome
