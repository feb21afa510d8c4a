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


def get_customers(tenant, authorization, address="203.0.113.7", forwarded_for=None):
    client = APIClient(REMOTE_ADDR=address)
    if forwarded_for is not None:
        client.defaults["HTTP_X_FORWARDED_FOR"] = forwarded_for
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


def test_a_token_exchange_that_sends_no_credentials_does_not_count(tenant, small_limit):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    bodies = [{}, {"username": "x"}, {"token": None}, {"refresh": "x"}] * LIMIT

    statuses = {client.post("/auth/token/", body, format="json").status_code for body in bodies}

    assert statuses == {400}
    assert client.post("/auth/token/", {"token": tenant.token}, format="json").status_code == 200


def test_a_new_x_forwarded_for_on_each_attempt_does_not_escape_the_lockout(tenant, small_limit):
    """With no proxy in front (NUM_PROXIES=0) the header is the client's own text."""
    statuses = [
        get_customers(tenant, f"Token wrong-{n}", forwarded_for=f"192.0.2.{n}").status_code
        for n in range(LIMIT + 3)
    ]
    right_token = get_customers(tenant, f"Token {tenant.token}", forwarded_for="192.0.2.200")

    assert statuses == [401] * LIMIT + [429] * 3
    assert right_token.status_code == 429


def test_behind_one_proxy_the_address_it_forwarded_is_the_one_locked_out(
    tenant, small_limit, settings
):
    """The proxy connects from one address and appends the client's to what the client
    sent: the last entry is the client, whatever came before it."""
    settings.NUM_PROXIES = 1
    proxy = "10.0.0.2"
    statuses = [
        get_customers(
            tenant, f"Token wrong-{n}", address=proxy, forwarded_for=f"192.0.2.{n}, 203.0.113.7"
        ).status_code
        for n in range(LIMIT + 2)
    ]
    another_client = get_customers(
        tenant, f"Token {tenant.token}", address=proxy, forwarded_for="192.0.2.1, 198.51.100.9"
    )

    assert statuses == [401] * LIMIT + [429] * 2
    assert another_client.status_code == 200
