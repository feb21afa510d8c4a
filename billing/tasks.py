from celery import shared_task
from django.utils import timezone

from billing.services.idempotency import idempotency_keys_purge


@shared_task
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge(now=timezone.now())
