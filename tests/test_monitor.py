"""`manage.py monitor`: the backlog an operator watches, read from the database and from
the Redis broker, as one JSON object."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from billing.tests.factories import EventFactory, WorkspaceFactory
from config.celery import app as celery_app
from config.monitor import queue_lengths
from invoices.tests.factories import FinalizedInvoiceFactory
from procurement.tests.factories import FinalizedPurchaseFactory
from tests.workers import use_test_broker
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.tests.factories import WebhookEndpointFactory

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def monitor() -> dict:
    out = StringIO()
    call_command("monitor", stdout=out)
    return json.loads(out.getvalue())


def delivery(
    endpoint: WebhookEndpoint, *, status: str, next_attempt_at: datetime | None
) -> Delivery:
    event = EventFactory(workspace=endpoint.workspace, published_at=NOW)
    return Delivery.objects.create(
        endpoint=endpoint,
        event=event,
        object_id=event.object_id,
        sequence=1,
        status=status,
        next_attempt_at=next_attempt_at,
    )


@pytest.mark.django_db
def test_an_idle_server_has_no_backlog():
    with use_test_broker(), time_machine.travel(NOW, tick=False):
        figures = monitor()

    assert figures == {
        "at": NOW.isoformat(),
        "queues": {"webhooks": 0, "billing": 0, "documents": 0, "agency": 0, "default": 0},
        "webhook_deliveries": {"open": 0, "due": 0, "oldest_due_seconds": None, "failed": 0},
        "unpublished_events": {"count": 0, "oldest_seconds": None},
        "agency": {"awaiting": 0, "oldest_seconds": None, "rejected": 0},
    }


@pytest.mark.django_db
def test_it_counts_each_queue_and_the_age_of_the_oldest_waiting_work():
    workspace = WorkspaceFactory()
    endpoint = WebhookEndpointFactory(workspace=workspace)
    with use_test_broker(), time_machine.travel(NOW, tick=False):
        delivery(endpoint, status="pending", next_attempt_at=NOW - timedelta(seconds=90))
        delivery(endpoint, status="pending", next_attempt_at=NOW - timedelta(seconds=5))
        delivery(endpoint, status="pending", next_attempt_at=NOW + timedelta(minutes=5))
        delivery(endpoint, status="sending", next_attempt_at=None)
        delivery(endpoint, status="failed", next_attempt_at=None)
        delivery(endpoint, status="succeeded", next_attempt_at=None)
    with time_machine.travel(NOW - timedelta(minutes=2), tick=False):
        EventFactory(workspace=workspace)
    with time_machine.travel(NOW - timedelta(seconds=30), tick=False):
        EventFactory(workspace=workspace)
    FinalizedInvoiceFactory(
        workspace=workspace, biller_status="pending", finalized_at=NOW - timedelta(minutes=10)
    )
    FinalizedInvoiceFactory(
        workspace=workspace, biller_status="processing", finalized_at=NOW - timedelta(minutes=1)
    )
    FinalizedInvoiceFactory(workspace=workspace, biller_status="failed", finalized_at=NOW)
    FinalizedInvoiceFactory(workspace=workspace, biller_status="succeeded", finalized_at=NOW)
    FinalizedPurchaseFactory(
        workspace=workspace, biller_status="queued", finalized_at=NOW - timedelta(hours=1)
    )

    with use_test_broker(), time_machine.travel(NOW, tick=False):
        for n in range(3):
            celery_app.send_task("webhooks.tasks.send_delivery", args=[f"dlv_{n}"])
        celery_app.send_task("invoices.tasks.render_document_pdf", priority=6)
        figures = monitor()

    assert figures["queues"] == {
        "webhooks": 3,
        "billing": 0,
        "documents": 1,
        "agency": 0,
        "default": 0,
    }
    assert figures["webhook_deliveries"] == {
        "open": 4,
        "due": 2,
        "oldest_due_seconds": 90.0,
        "failed": 1,
    }
    assert figures["unpublished_events"] == {"count": 2, "oldest_seconds": 120.0}
    assert figures["agency"] == {"awaiting": 3, "oldest_seconds": 3600.0, "rejected": 1}


def test_a_broker_other_than_redis_has_no_queue_lengths_to_read():
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "memory://"
    try:
        assert queue_lengths() is None
    finally:
        celery_app.conf.broker_url = previous
