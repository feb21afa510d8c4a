"""Redis down for a while under the API: a Stripe event received and a test-clock move
asked for answer within one try at the broker, like every other write, and once Redis is
back the sweeps take up what they queued: the event is processed and the clock moved."""

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.conf import settings

from billing.models import Workspace
from config.celery import app as celery_app
from payments.models import StripeEvent
from payments.tasks import process_received_stripe_events
from payments.tests.conftest import connect_stripe
from subscriptions.models import TestClockJob as ClockJob
from subscriptions.tasks import queue_unstarted_clock_jobs
from tests.fake_stripe import post_stripe_event, stripe_event
from tests.faults.helpers import sweeping, wait_until, worker_env
from tests.faults.test_broker_down import reset_producer_pool
from tests.workers import running_worker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@contextmanager
def silent_broker(broker: str) -> Iterator[None]:
    """Publishing pointed at a Redis that never answers (down behind a firewall that drops
    packets): a listening socket whose queue of connections is full."""
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    filler = socket.create_connection(server.getsockname())  # fills the queue
    options = celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    celery_app.conf.broker_transport_options = settings.REDIS_BROKER_TRANSPORT_OPTIONS
    reset_producer_pool()
    try:
        yield
    finally:
        filler.close()
        server.close()
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = broker, options
        reset_producer_pool()


def test_stripe_events_and_clock_moves_made_while_redis_is_down_are_taken_up_later(
    broker, test_tenant, fake_stripe, tmp_path, figures
):
    connect_stripe(test_tenant, fake_stripe)
    Workspace.objects.filter(pk=test_tenant.workspace.pk).update(test_clock_at=START)
    event = stripe_event("customer.created", {"id": "cus_down", "object": "customer"})
    with silent_broker(broker):
        waits = []
        began = time.monotonic()
        received = post_stripe_event(test_tenant.workspace.id, event)
        waits.append(time.monotonic() - began)
        began = time.monotonic()
        moved = test_tenant.client.post(
            "/test_clock/",
            {"advance_to": "2026-03-02T12:00:00Z"},
            headers={"Prefer": "respond-async"},
        )
        waits.append(time.monotonic() - began)
    stored = StripeEvent.objects.filter(stripe_id=event["id"])
    job = ClockJob.objects.filter(workspace=test_tenant.workspace)

    env = worker_env(tmp_path / "media", STRIPE_API_BASE=fake_stripe.base_url)
    with (
        running_worker(tmp_path, extra_env=env),
        sweeping([process_received_stripe_events, queue_unstarted_clock_jobs], every=1.0),
    ):
        wait_until(
            lambda: stored.get().status != "received" and job.get().status != "running",
            timeout=60,
            what="the event processed and the clock moved once Redis is back",
        )

    figures(slowest_answer=round(max(waits), 1))
    assert (received.status_code, moved.status_code) == (200, 202)
    # One try at the broker for the pair (its connect timeout is 3 s; the second skips
    # the broker), not a try per retry of Celery's retry policy.
    assert sum(waits) < 5
    assert (stored.get().status, stored.get().attempts) == ("ignored", 1)
    assert job.get().status == "succeeded"
    clock = Workspace.objects.values_list("test_clock_at", flat=True).get(pk=job.get().workspace_id)
    assert clock == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
