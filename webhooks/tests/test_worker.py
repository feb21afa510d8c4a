"""Deliveries through real Celery workers on Redis and PostgreSQL."""

import json
import threading
import time

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from billing.models import Country, Event
from customers.services import customer_create, customer_update
from tests.receiver import Reply, running_receiver
from tests.workers import require_worker_services, running_worker, use_test_broker
from webhooks import services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery
from webhooks.tasks import publish_event, send_due_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def broker():
    require_worker_services()
    with use_test_broker() as url:
        yield url


def wait_until(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def create_customer(tenant):
    return customer_create(
        workspace=tenant.workspace,
        test_mode=True,
        name="ACME SpA",
        country=Country.objects.get(code="CL"),
        tax_id="76086428-5",
    )


def test_an_event_committed_by_the_api_side_reaches_the_receiver(broker, test_tenant, tmp_path):
    with running_receiver() as receiver, running_worker(tmp_path):
        endpoint = services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        customer = create_customer(test_tenant)  # commits, then publishes on commit

        receiver.wait_for(1)
        wait_until(
            lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists(),
            what="the delivery to be recorded as succeeded",
        )
        payload = Webhook(endpoint.secret).verify(
            receiver.received[0].body, receiver.received[0].headers
        )
        assert payload["object_id"] == customer.id


def test_events_of_one_object_arrive_in_order_under_concurrent_writers(
    broker, test_tenant, tmp_path
):
    # Slow, uneven replies and sweeps running all the time (as beat runs them) give every
    # later event many chances to overtake an earlier one if ordering were not enforced.
    script = [Reply(200, delay=0.1 * (i % 3)) for i in range(40)]
    with running_receiver(script) as receiver, running_worker(tmp_path, concurrency=4):
        services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        customer = create_customer(test_tenant)
        done = threading.Event()

        def sweep() -> None:
            while not done.is_set():
                send_due_deliveries.delay()
                time.sleep(0.03)

        def rename(thread: int) -> None:
            try:
                for i in range(3):
                    customer_update(customer=customer, name=f"ACME {thread}-{i}")
            finally:
                connection.close()  # each thread has its own; the test database must drop

        sweeper = threading.Thread(target=sweep)
        sweeper.start()
        threads = [threading.Thread(target=rename, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            receiver.wait_for(13, timeout=60)
        finally:
            done.set()
            sweeper.join()
        sequences = [json.loads(r.body)["sequence"] for r in receiver.received]
        assert sequences == list(range(1, 14))


def test_a_worker_killed_mid_delivery_delivers_once_after_restart(broker, test_tenant, tmp_path):
    lease = {"WEBHOOK_DELIVERY_LEASE_SECONDS": "2"}
    # The first request hangs, long enough to kill the worker in the middle of it.
    with running_receiver([Reply(200, delay=20)]) as receiver:
        services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        with running_worker(tmp_path, extra_env=lease) as worker:
            customer = create_customer(test_tenant)
            receiver.wait_for(1)
            worker.kill()

        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.SENDING
        time.sleep(2.5)  # the dead worker's lease runs out

        with running_worker(tmp_path, extra_env=lease):
            send_due_deliveries.delay()  # what beat does every few seconds
            wait_until(
                lambda: Delivery.objects.get().status == DeliveryStatus.SUCCEEDED,
                what="the delivery to succeed after the restart",
            )

        delivery = Delivery.objects.get()
        assert receiver.completed == 1
        assert {r.headers["webhook-id"] for r in receiver.received} == {delivery.event_id}
        assert [a.status_code for a in delivery.attempt_log.all()] == [200]
        assert json.loads(receiver.received[-1].body)["object_id"] == customer.id


def test_a_delivery_does_not_wait_behind_a_burst_of_events_to_publish(
    broker, test_tenant, tmp_path
):
    # A burst queued before the worker takes it up: each event's delivery must leave when
    # its event is fanned out, not once the whole burst has been (which with a few
    # hundred events on a busy machine looked like a stall: 86 of 500 in two minutes).
    # A message fans out a lease's worth of waiting events, no more.
    burst = Event.objects.bulk_create(
        Event(
            workspace=test_tenant.workspace,
            test_mode=True,
            type="customer.updated",
            object_id=f"cus_burst{i}",
            sequence=1,
            data={"i": i},
        )
        for i in range(services.deliveries_batch_size() + 12)
    )
    # The first reply is slow: while it lasts, the worker's only thread waits on it.
    with running_receiver([Reply(200, delay=3)]) as receiver:
        services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        for event in burst:
            publish_event.delay(event_id=event.id)
        with running_worker(tmp_path, concurrency=1):
            receiver.wait_for(1)
            published_before_first_delivery = Event.objects.filter(
                pk__in=[event.id for event in burst], published_at__isnull=False
            ).count()
            receiver.wait_for(len(burst), timeout=60)

    assert published_before_first_delivery == services.deliveries_batch_size() < len(burst)
    assert sorted(json.loads(r.body)["object_id"] for r in receiver.received) == sorted(
        event.object_id for event in burst
    )
