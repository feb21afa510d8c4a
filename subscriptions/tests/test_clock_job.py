"""A long advance of the test clock, run by a real worker: `Prefer: respond-async` answers
202 at once with a job, and polling it shows the advance's progress and outcome."""

import time

import pytest

from billing.models import Workspace
from subscriptions.models import BilledPeriod
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe
from tests.conftest import make_tenant
from tests.workers import require_worker_services, running_worker, use_test_broker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ASYNC = {"Prefer": "respond-async"}


def _tenant_at(start):  # type: ignore[no-untyped-def]
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=start, timezone="America/Santiago"
    )
    tenant.workspace.refresh_from_db()
    return tenant


def test_a_year_ahead_answers_202_and_a_worker_runs_the_polled_job(tmp_path) -> None:  # type: ignore[no-untyped-def]
    require_worker_services()
    start = santiago(2026, 1, 10, 9, 0)
    tenant = _tenant_at(start)
    plan, customer = plan_of(tenant.workspace), customer_of(tenant.workspace)
    subscriptions = [
        subscribe(tenant.workspace, start, [(plan, 1)], customer=customer) for _ in range(2)
    ]
    with use_test_broker():
        started = tenant.client.post(
            "/test_clock/", {"advance_to": "2027-01-10T09:00:00-03:00"}, headers=ASYNC
        )

        assert started.status_code == 202, started.content
        job = started.json()
        assert job["status"] == "running" and job["progress"] == 0.0
        assert started["Location"] == job["url"] == f"/test_clock/jobs/{job['id']}/"
        assert BilledPeriod.objects.filter(subscription__in=subscriptions).count() == 2

        with running_worker(tmp_path):
            deadline = time.monotonic() + 120
            while (polled := tenant.client.get(job["url"]).json())["status"] == "running":
                assert time.monotonic() < deadline, polled
                time.sleep(0.5)

    assert polled["status"] == "succeeded", polled
    assert polled["progress"] == 1.0 and polled["error"] is None and polled["finished_at"]
    # 13 monthly periods each: the one billed at the start, then Feb 2026 … Jan 2027.
    assert BilledPeriod.objects.filter(subscription__in=subscriptions).count() == 26
    clock = tenant.client.get("/test_clock/").json()
    assert clock["now"] == "2027-01-10T12:00:00Z"


def test_a_job_is_checked_before_it_is_queued_and_is_the_workspace_s_own(db) -> None:  # type: ignore[no-untyped-def]
    tenant = _tenant_at(santiago(2026, 1, 10, 9, 0))
    backwards = tenant.client.post(
        "/test_clock/", {"advance_to": "2025-01-10T09:00:00-03:00"}, headers=ASYNC
    )
    assert backwards.status_code == 400
    assert "advance_to" in backwards.json()

    live = make_tenant()
    refused = live.client.post(
        "/test_clock/", {"advance_to": "2030-01-10T09:00:00-03:00"}, headers=ASYNC
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "test_clock_live_mode"

    job = tenant.client.post(
        "/test_clock/", {"advance_to": "2026-02-10T09:00:00-03:00"}, headers=ASYNC
    ).json()
    other = make_tenant(test_mode=True)
    assert other.client.get(job["url"]).status_code == 404
