"""Redis down for a while under the API: writes still answer, each within one try at the
broker (their events wait in the outbox), and once it is back the sweeps publish them and
each is delivered once (G8, G12)."""

import time

import pytest

from billing.models import Event
from billing.tasks import publish_pending_events
from config.celery import app as celery_app
from tests.faults.helpers import sweeping, wait_until, worker_env
from tests.faults.test_wrong_broker import unreachable_broker
from tests.receiver import running_receiver
from tests.workers import running_worker
from webhooks import services
from webhooks.tasks import send_due_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CUSTOMERS = 3


def reset_producer_pool() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_writes_made_while_redis_is_down_are_delivered_once_it_is_back(
    broker, test_tenant, tmp_path, figures
):
    with running_receiver() as receiver:
        services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        celery_app.conf.broker_url = unreachable_broker()
        reset_producer_pool()
        try:
            answers, slowest = [], 0.0
            for i in range(CUSTOMERS):
                began = time.monotonic()
                answers.append(
                    test_tenant.client.post(
                        "/customers/",
                        {"name": f"Cliente {i}", "country": "CL", "tax_id": "76086428-5"},
                    ).status_code
                )
                slowest = max(slowest, time.monotonic() - began)
        finally:
            celery_app.conf.broker_url = broker
            reset_producer_pool()
        events = set(
            Event.objects.filter(workspace=test_tenant.workspace).values_list("id", flat=True)
        )
        unpublished = Event.objects.filter(pk__in=events, published_at__isnull=True).count()

        with (
            running_worker(tmp_path, extra_env=worker_env(tmp_path / "media")),
            sweeping([publish_pending_events, send_due_deliveries], every=1.0),
        ):
            wait_until(
                lambda: {r.headers["webhook-id"] for r in receiver.received} >= events,
                timeout=90,
                what="every event delivered once Redis is back",
            )

    delivered = [r.headers["webhook-id"] for r in receiver.received]
    figures(tries=len(events), held=len(set(delivered)), slowest_answer=round(slowest, 1))
    assert answers == [201] * CUSTOMERS
    # One try at the broker per write at most, whatever its events and their consumers
    # (one failed send waited out kombu's reconnection back-off: 6 s).
    assert slowest < 4
    assert (len(events), unpublished) == (CUSTOMERS, CUSTOMERS)
    assert sorted(delivered) == sorted(events)
