"""Failed authentication is limited per client address (billing.auth): guessing API keys,
JWTs or passwords gets 429 once an address has failed too often."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

LIMIT = 5


@pytest.fixture
def small_limit(settings):
    # A day-long window: the test never straddles two windows.
    settings.AUTH_FAILURE_RATE = f"{LIMIT}/day"
    cache.clear()
    yield
    cache.clear()


def get_customers(tenant, authorization, address="203.0.113.7"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(
        HTTP_AUTHORIZATION=authorization, HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id
    )
    return client.get("/customers/")


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_wrong_tokens_from_one_address_get_429_after_the_limit(tenant, small_limit, scheme):
    statuses = [get_customers(tenant, f"{scheme} wrong-{n}").status_code for n in range(15)]

    assert statuses == [401] * LIMIT + [429] * (15 - LIMIT)
    refused = get_customers(tenant, f"{scheme} wrong")
    assert refused.json()["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) > 0


def test_a_locked_out_address_is_refused_even_with_the_right_token(tenant, small_limit):
    for n in range(LIMIT):
        get_customers(tenant, f"Token wrong-{n}")

    assert get_customers(tenant, f"Token {tenant.token}").status_code == 429
    assert get_customers(tenant, f"Token {tenant.token}", address="198.51.100.9").status_code == 200


def test_successes_do_not_count(tenant, small_limit):
    statuses = [get_customers(tenant, f"Token {tenant.token}").status_code for _ in range(10)]

    assert statuses == [200] * 10


def test_wrong_credentials_at_the_token_exchange_are_limited_too(tenant, small_limit):
    client = APIClient(REMOTE_ADDR="203.0.113.8")
    statuses = [
        client.post("/auth/token/", {"token": f"wrong-{n}"}, format="json").status_code
        for n in range(LIMIT + 2)
    ]
    refreshes = client.post("/auth/token/refresh/", {"refresh": "nope"}, format="json")

    assert statuses == [400] * LIMIT + [429] * 2
    assert refreshes.status_code == 429
