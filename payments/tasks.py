"""Thin tasks: each makes one domain call. All are safe to run twice, and ignore keyword
arguments they do not know (a message from an older or newer release during a deploy)."""

from celery import shared_task
from django.utils import timezone

from payments import services


@shared_task
def expire_due_checkouts(**_: object) -> int:
    """Beat: expire intents past `expires_at` and payments past their authentication
    window; a second run finds nothing left to do."""
    return services.checkouts_expire_due(now=timezone.now())
