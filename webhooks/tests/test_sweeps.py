"""Beat sweeps queue each piece of work once while it is in flight: with no worker
running, sweep after sweep adds nothing, and once a worker starts everything is done once."""

from datetime import timedelta

import pytest
import redis
from django.db.models import F

from billing.models import Event
from billing.tasks import publish_pending_events
from tests.receiver import running_receiver
from tests.workers import TEST_BROKER_URL, running_worker
from webhooks import services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery
from webhooks.tasks import send_due_deliveries
from webhooks.tests.test_worker import broker, create_customer, wait_until  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SWEEPS = 6


def webhooks_queue_length() -> int:
    return int(redis.Redis.from_url(TEST_BROKER_URL).llen("webhooks"))


def test_sweeps_without_a_worker_queue_each_piece_once(broker, test_tenant, tmp_path, settings):  # noqa: F811
    with running_receiver() as receiver:
        services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        settings.EVENT_PUBLISHERS = []  # publishes lost: the process died after commit
        customers = [create_customer(test_tenant) for _ in range(5)]
        events = Event.objects.filter(object_id__in=[c.id for c in customers])
        events.update(created_at=F("created_at") - timedelta(minutes=1))
        settings.EVENT_PUBLISHERS = ["webhooks.tasks.publish_event"]
        # Two events already fanned out: their deliveries wait for the delivery sweep.
        for event in events.order_by("created_at")[:2]:
            services.event_fan_out(event_id=event.id, now=event.created_at)

        lengths = []
        for _ in range(SWEEPS):  # as beat would, every interval, with no worker running
            publish_pending_events()
            send_due_deliveries()
            lengths.append(webhooks_queue_length())

        # 3 events to publish and 2 deliveries to send, each queued once.
        assert lengths == [5] * SWEEPS
        with running_worker(tmp_path):
            receiver.wait_for(5)
            wait_until(
                lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 5,
                what="every delivery to succeed",
            )
            publish_pending_events()
            send_due_deliveries()

    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(
        e.id for e in events
    )
    assert webhooks_queue_length() == 0
