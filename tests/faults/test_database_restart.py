"""A PostgreSQL restart under a running worker: every session it held is dropped, and the
worker goes on with new ones; what it was asked to do meanwhile is done once (G8, G12)."""

import pytest
from django.db import connection

from billing.models import Country, Event
from billing.tasks import publish_pending_events
from customers.services import customer_create
from tests.faults.helpers import sweeping, wait_until, worker_env
from tests.receiver import running_receiver
from tests.workers import running_worker
from webhooks import services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery
from webhooks.tasks import send_due_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CUSTOMERS = 5


def drop_other_sessions() -> int:
    """What a restart does to the worker's sessions (this test's own is kept to watch)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(cursor.fetchall())


def test_a_worker_goes_on_after_its_database_sessions_are_dropped(
    broker, test_tenant, tmp_path, figures
):
    chile = Country.objects.get(code="CL")
    with running_receiver() as receiver:
        services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        with (
            running_worker(tmp_path, extra_env=worker_env(tmp_path / "media")),
            sweeping([publish_pending_events, send_due_deliveries], every=1.0),
        ):

            def create(i: int) -> None:
                customer_create(
                    workspace=test_tenant.workspace,
                    test_mode=True,
                    name=f"Cliente {i}",
                    country=chile,
                    tax_id="76086428-5",
                )

            create(0)
            receiver.wait_for(1, timeout=60)
            # Recorded first: a delivery whose outcome the restart lost is sent again (at
            # least once), which is not what this test counts.
            wait_until(
                lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists(),
                timeout=30,
                what="the first delivery recorded",
            )
            dropped = drop_other_sessions()
            for i in range(1, CUSTOMERS):
                create(i)
            events = set(
                Event.objects.filter(workspace=test_tenant.workspace).values_list("id", flat=True)
            )
            wait_until(
                lambda: {r.headers["webhook-id"] for r in receiver.received} >= events,
                timeout=90,
                what="every event delivered after the sessions were dropped",
            )

    delivered = [r.headers["webhook-id"] for r in receiver.received]
    figures(tries=len(events), held=len(set(delivered)), sessions_dropped=dropped)
    assert dropped >= 1
    assert set(delivered) == events
    assert len(delivered) == len(events)
