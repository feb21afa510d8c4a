"""A worker started on a broker it cannot reach stops at once with an error saying so
(a supervisor sees the crash), while the API goes on answering; the work the API queued
meanwhile is all done once a worker on the right broker runs (G12)."""

import socket
import time
import uuid

import pytest

from billing.models import Event
from tests.faults.helpers import sweeping, wait_until, worker_env
from tests.receiver import running_receiver
from tests.workers import Worker, running_worker
from webhooks import services
from webhooks.tasks import send_due_deliveries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CUSTOMERS = 20


def unreachable_broker() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the socket is closed


def test_a_worker_on_a_wrong_broker_fails_loudly_and_loses_nothing(
    broker, test_tenant, tmp_path, figures
):
    env = worker_env(tmp_path / "media")
    wrong = Worker(
        tmp_path / f"wrong-{uuid.uuid4().hex[:6]}.log",
        {**env, "CELERY_BROKER_URL": unreachable_broker()},
        concurrency=1,
        wait_ready=False,
    )
    with running_receiver() as receiver:
        services.endpoint_create(
            workspace=test_tenant.workspace, test_mode=True, url=receiver.url, events=["*"]
        )
        # The API answers while the wrong worker starts (and fails).
        slowest = 0.0
        for i in range(CUSTOMERS):
            began = time.monotonic()
            created = test_tenant.client.post(
                "/customers/", {"name": f"Cliente {i}", "country": "CL", "tax_id": "76086428-5"}
            )
            slowest = max(slowest, time.monotonic() - began)
            assert created.status_code == 201, created.content
        exit_code = wrong.wait_exit(timeout=20)
        wrong.stop()
        log = wrong.log_path.read_text()

        events = Event.objects.filter(workspace=test_tenant.workspace).count()
        with running_worker(tmp_path, extra_env=env), sweeping([send_due_deliveries]):
            wait_until(
                lambda: len({r.headers["webhook-id"] for r in receiver.received}) >= events,
                timeout=60,
                what="every event queued meanwhile to be delivered",
            )
    delivered = len({r.headers["webhook-id"] for r in receiver.received})
    figures(
        tries=events,
        held=delivered,
        lost=events - delivered,
        wrong_worker_exit=exit_code,
        slowest_api_seconds=round(slowest, 2),
    )
    assert exit_code not in (None, 0), f"the worker kept running on a wrong broker:\n{log[-2000:]}"
    assert "connection to the message broker" in log, log[-2000:]  # says why it stopped
    assert events == CUSTOMERS
    assert delivered == events
