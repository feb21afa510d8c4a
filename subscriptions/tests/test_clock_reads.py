"""A read right after the test clock moves answers on the new time, while each process
keeps API keys' callers and their workspaces for a few seconds (billing/auth_cache.py)."""

import pytest
from django.core.cache import cache

from billing.auth_cache import caller_cache_key
from billing.models import Workspace
from billing.services.workspaces import hash_token_key
from subscriptions.tasks import run_test_clock_job
from subscriptions.tests.helpers import santiago
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _callers_kept(settings):  # type: ignore[no-untyped-def]
    settings.API_KEY_CACHE_SECONDS = 5
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tester() -> Tenant:
    """A test-mode caller whose workspace's clock stands at 2026-03-10 09:00 in Santiago,
    and whose process keeps its caller and workspace from a first read."""
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=santiago(2026, 3, 10, 9, 0)
    )
    assert tenant.client.get("/test_clock/").json()["now"] == "2026-03-10T12:00:00Z"
    return tenant


def test_a_read_right_after_an_advance_answers_on_the_new_time(tester: Tenant) -> None:
    moved = tester.client.post(
        "/test_clock/", {"advance_to": "2026-04-02T09:00:00-03:00"}, format="json"
    )
    assert moved.status_code == 200, moved.json()

    assert tester.client.get("/test_clock/").json()["now"] == "2026-04-02T12:00:00Z"


def test_a_read_right_after_a_queued_advance_ran_answers_on_the_new_time(
    tester: Tenant,
) -> None:
    job = tester.client.post(
        "/test_clock/",
        {"advance_to": "2026-05-20T09:00:00-04:00"},
        format="json",
        headers={"Prefer": "respond-async"},
    ).json()

    assert run_test_clock_job(job_id=job["id"]) == "succeeded"

    assert tester.client.get("/test_clock/").json()["now"] == "2026-05-20T13:00:00Z"
    assert tester.client.get(job["url"]).json()["progress"] == 1.0


def test_every_process_reads_the_workspace_again_after_the_clock_moved(tester: Tenant) -> None:
    """What other processes keep is held under the stamp in the shared cache: moving the
    clock deletes it, as saving the workspace does."""
    stamp_key = caller_cache_key(hash_token_key(tester.token))
    assert cache.get(stamp_key) is not None

    tester.client.post("/test_clock/", {"advance_to": "2026-03-11T09:00:00-03:00"}, format="json")

    assert cache.get(stamp_key) is None
