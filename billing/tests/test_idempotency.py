"""G3: `Idempotency-Key` on every POST (billing.api.viewsets, billing.services.idempotency)."""

import os
import threading

import pytest
import requests
from django.db import connection
from rest_framework.test import APIClient

from billing.models import IdempotencyKey
from customers import services
from customers.models import Customer
from tests.conftest import make_tenant

BODY = {"name": "ACME SpA", "country": "CL", "tax_id": "76086428-5"}


def post(tenant, key, body=BODY, path="/customers/"):
    return tenant.client.post(path, body, format="json", headers={"Idempotency-Key": key})


def test_the_same_key_and_body_replays_the_first_response(tenant):
    first = post(tenant, "key-1")

    second = post(tenant, "key-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Customer.objects.count() == 1


def test_a_replay_answers_the_first_answers_bytes(tenant):
    """A client comparing bodies, or checking a signature over them, sees one answer:
    the same status, body bytes and headers that matter, keys in the same order."""
    first = post(tenant, "key-1")

    second = post(tenant, "key-1")

    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.status_code == first.status_code
    assert second.content == first.content
    assert second.headers["Content-Type"] == first.headers["Content-Type"]


def test_a_replayed_error_answers_the_first_answers_bytes(tenant):
    bad = {**BODY, "tax_id": "76086428-6", "email": "not an email", "country": "XX"}
    first = post(tenant, "key-1", bad)

    second = post(tenant, "key-1", bad)

    assert second.headers["Idempotent-Replayed"] == "true"
    assert (second.status_code, second.content) == (first.status_code, first.content)


def test_the_same_key_with_another_body_is_a_422(tenant):
    post(tenant, "key-1")

    response = post(tenant, "key-1", {**BODY, "name": "Another SpA"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Customer.objects.count() == 1


def test_the_same_key_on_another_path_is_a_422(tenant):
    customer_id = post(tenant, "key-1").json()["id"]

    response = post(tenant, "key-1", {}, path=f"/customers/{customer_id}/archive/")

    assert response.status_code == 422
    assert Customer.objects.get().status == "active"


def test_the_same_key_with_another_query_string_is_a_422(tenant):
    post(tenant, "key-1", path="/customers/?a=1")

    response = post(tenant, "key-1", path="/customers/?a=2")
    without = post(tenant, "key-1")

    assert (response.status_code, without.status_code) == (422, 422)
    assert response.json()["code"] == without.json()["code"] == "idempotency_key_reused"
    assert Customer.objects.count() == 1


def test_the_same_query_in_another_order_replays(tenant):
    first = post(tenant, "key-1", path="/customers/?a=1&b=2&a=3")

    second = post(tenant, "key-1", path="/customers/?b=2&a=1&a=3")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"


def test_keys_are_scoped_by_workspace_and_mode(tenant, other_tenant):
    test_mode = APIClient()
    test_mode.credentials(
        HTTP_AUTHORIZATION=f"Token {tenant.token}",
        HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id,
        HTTP_X_PIRIOD_TEST_MODE="true",
    )

    responses = [
        post(tenant, "shared-key"),
        post(other_tenant, "shared-key"),
        test_mode.post(
            "/customers/", BODY, format="json", headers={"Idempotency-Key": "shared-key"}
        ),
    ]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert not any("Idempotent-Replayed" in r.headers for r in responses)
    created = Customer.objects.values_list("id", "workspace_id", "test_mode")
    assert sorted(created) == sorted(
        [
            (responses[0].json()["id"], tenant.workspace.id, False),
            (responses[1].json()["id"], other_tenant.workspace.id, False),
            (responses[2].json()["id"], tenant.workspace.id, True),
        ]
    )


def test_a_validation_error_is_replayed(tenant):
    bad = {**BODY, "tax_id": "76086428-6"}
    first = post(tenant, "key-1", bad)

    second = post(tenant, "key-1", bad)

    assert first.status_code == second.status_code == 400
    assert second.json() == first.json() == {"tax_id": ["The check digit does not match."]}
    assert second.headers["Idempotent-Replayed"] == "true"
    assert not Customer.objects.exists()


def test_a_state_conflict_is_replayed(tenant):
    customer_id = post(tenant, "create").json()["id"]
    tenant.client.post(f"/customers/{customer_id}/archive/")

    first = post(tenant, "archive", {}, path=f"/customers/{customer_id}/archive/")
    tenant.client.post(f"/customers/{customer_id}/unarchive/")
    second = post(tenant, "archive", {}, path=f"/customers/{customer_id}/archive/")

    assert first.status_code == second.status_code == 409
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    # The replay did not run the action again.
    assert Customer.objects.get().status == "active"


@pytest.mark.parametrize(("length", "status"), [(255, 201), (256, 400)])
def test_a_key_is_at_most_255_characters(tenant, length, status):
    response = post(tenant, "k" * length)

    assert response.status_code == status
    if status == 400:
        assert response.json()["code"] == "idempotency_key_invalid"
        assert not Customer.objects.exists()


def test_a_post_without_a_key_is_not_deduplicated(tenant):
    tenant.client.post("/customers/", BODY, format="json")
    tenant.client.post("/customers/", BODY, format="json")

    assert Customer.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_server_error_leaves_the_key_free_for_a_retry(tenant, monkeypatch):
    real_create = services.customer_create
    calls = []

    def crash_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("the process died half-way")
        return real_create(**kwargs)

    monkeypatch.setattr(services, "customer_create", crash_once)
    tenant.client.raise_request_exception = False

    crashed = post(tenant, "key-1")
    retried = post(tenant, "key-1")
    replayed = post(tenant, "key-1")

    assert crashed.status_code == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == retried.json()
    assert Customer.objects.count() == 1
    assert len(calls) == 2


# Concurrency, over real HTTP on PostgreSQL

THREADS = 8


def _can_share_the_database() -> bool:
    # pytest's SQLite test database lives in one in-memory connection, which the live
    # server's threads would share: no row locks, no real concurrency to test.
    return connection.vendor == "postgresql"


@pytest.mark.skipif(
    not _can_share_the_database() and os.environ.get("CI") != "true",
    reason="needs PostgreSQL (CI runs the suite on PostgreSQL)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_requests_with_one_key_create_one_customer(live_server, monkeypatch):
    tenant = make_tenant()
    real_create = services.customer_create

    def slow_create(**kwargs):
        # Holds the key's lock long enough for the other requests to arrive meanwhile.
        threading.Event().wait(0.5)
        return real_create(**kwargs)

    monkeypatch.setattr(services, "customer_create", slow_create)
    headers = {**tenant.headers, "Idempotency-Key": "concurrent-key"}
    barrier = threading.Barrier(THREADS)
    responses: list[requests.Response] = []

    def send() -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.post(
                f"{live_server.url}/customers/", json=BODY, headers=headers, timeout=30
            )
        responses.append(response)

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(r.status_code for r in responses)
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if "Idempotent-Replayed" not in r.headers]
    assert len(responses) == THREADS
    assert set(statuses) <= {201, 409}, statuses
    assert len(originals) == 1, statuses
    assert all(r.json() == originals[0].json() for r in created)
    assert all(
        r.json()["code"] == "idempotency_key_in_use" for r in responses if r.status_code == 409
    )
    assert Customer.objects.count() == 1
    assert Customer.objects.get().id == originals[0].json()["id"]
