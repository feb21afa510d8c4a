"""Thin tasks: each makes one domain call. All are safe to run twice, and ignore keyword
arguments they do not know (a message from an older or newer release during a deploy)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing.services.events import events_publish_pending
from billing.services.idempotency import idempotency_keys_purge


@shared_task
def purge_idempotency_keys(**_: object) -> int:
    return idempotency_keys_purge(now=timezone.now())


@shared_task
def publish_pending_events(**_: object) -> int:
    grace = timedelta(seconds=settings.EVENT_PUBLISH_GRACE_SECONDS)
    return events_publish_pending(now=timezone.now(), older_than=grace)
