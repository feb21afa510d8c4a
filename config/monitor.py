"""What an operator watches (README, "Deployment"): how much work waits on the broker and
in the database, and how old the oldest of it is.

It reads webhooks, the fiscal documents of every app and the broker, so it lives here
above every app, like the dashboard. Ages are in seconds, null when nothing waits.
"""

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from django.apps import apps
from django.db.models import Count, Min, Q

from billing.choices import BillerStatus
from billing.models import Event
from billing.models.documents import FiscalDocument
from config.celery import app as celery_app
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery

# The separator and priority steps kombu's Redis transport names a queue's lists with:
# `webhooks`, then `webhooks\x06\x163` and so on for messages sent with a priority.
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
REDIS_PRIORITY_STEPS = (3, 6, 9)
AWAITING_AGENCY = [BillerStatus.PENDING, BillerStatus.QUEUED, BillerStatus.PROCESSING]


def backlog(*, now: datetime) -> dict[str, Any]:
    return {
        "at": now.isoformat(),
        "queues": queue_lengths(),
        "webhook_deliveries": delivery_backlog(now=now),
        "unpublished_events": unpublished_events(now=now),
        "agency": agency_backlog(now=now),
    }


def queue_lengths() -> dict[str, int] | None:
    """Messages waiting in each Celery queue (Redis LLEN); None on a broker that is not
    Redis, whose own tools tell."""
    url = celery_app.conf.broker_url
    if urlsplit(url).scheme not in ("redis", "rediss"):
        return None
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    with client.pipeline(transaction=False) as pipe:
        names = [queue.name for queue in celery_app.conf.task_queues]
        for name in names:
            pipe.llen(name)
            for step in REDIS_PRIORITY_STEPS:
                pipe.llen(f"{name}{REDIS_PRIORITY_SEPARATOR}{step}")
        lengths = pipe.execute()
    per_queue = len(REDIS_PRIORITY_STEPS) + 1
    return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}


def delivery_backlog(*, now: datetime) -> dict[str, Any]:
    """Open deliveries, those whose attempt is due, the age of the oldest due one, and
    deliveries that ran out of retries."""
    figures = Delivery.objects.aggregate(
        open=Count("pk", filter=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])),
        due=Count("pk", filter=_due_delivery(now)),
        oldest_due_at=Min("next_attempt_at", filter=_due_delivery(now)),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
    )
    return {
        "open": figures["open"],
        "due": figures["due"],
        "oldest_due_seconds": _age(now, figures["oldest_due_at"]),
        "failed": figures["failed"],
    }


def _due_delivery(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)


def unpublished_events(*, now: datetime) -> dict[str, Any]:
    """Events the outbox has not handed to the broker yet (it was unreachable, or the
    sweep is behind)."""
    figures = Event.objects.filter(published_at__isnull=True).aggregate(
        count=Count("pk"), oldest_at=Min("created_at")
    )
    return {"count": figures["count"], "oldest_seconds": _age(now, figures["oldest_at"])}


def agency_backlog(*, now: datetime) -> dict[str, Any]:
    """Finalized documents of every kind not yet accepted or rejected by the tax agency,
    the age of the oldest, and the documents it rejected."""
    awaiting, rejected, oldest = 0, 0, None
    for model in _fiscal_document_models():
        figures = model._default_manager.aggregate(
            awaiting=Count("pk", filter=Q(biller_status__in=AWAITING_AGENCY)),
            oldest_at=Min("finalized_at", filter=Q(biller_status__in=AWAITING_AGENCY)),
            rejected=Count("pk", filter=Q(biller_status=BillerStatus.FAILED)),
        )
        awaiting += figures["awaiting"]
        rejected += figures["rejected"]
        if figures["oldest_at"] and (oldest is None or figures["oldest_at"] < oldest):
            oldest = figures["oldest_at"]
    return {"awaiting": awaiting, "oldest_seconds": _age(now, oldest), "rejected": rejected}


def _fiscal_document_models() -> list[type[FiscalDocument]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, FiscalDocument) and not model._meta.proxy
    ]


def _age(now: datetime, at: datetime | None) -> float | None:
    return None if at is None else round(max((now - at).total_seconds(), 0.0), 1)
