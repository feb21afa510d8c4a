"""A request budget per caller (billing.api.throttling.TokenRateThrottle)."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from billing.api.throttling import TokenRateThrottle

RATE = "3/min"


@pytest.fixture
def tiny_rate(monkeypatch):
    cache.clear()
    rates = {"token": RATE}
    # DRF binds the rates to the throttle class when it is imported, so the settings
    # override alone would not reach it; both say the same thing.
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", rates)
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        yield
    cache.clear()


def test_the_request_after_the_budget_is_a_429_with_retry_after(tenant, tiny_rate):
    allowed = [tenant.client.get("/customers/").status_code for _ in range(3)]

    refused = tenant.client.get("/customers/")

    assert allowed == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_the_budget_is_per_caller(tenant, other_tenant, tiny_rate):
    for _ in range(4):
        tenant.client.get("/customers/")

    response = other_tenant.client.get("/customers/")

    assert response.status_code == 200


def test_health_is_not_throttled(tiny_rate, db):
    client = APIClient()
    statuses = {client.get("/health/").status_code for _ in range(5)}

    assert statuses == {200}


@pytest.fixture
def key_cache_on(settings):
    settings.API_KEY_CACHE_SECONDS = 5


def test_a_cached_read_counts_its_budget_in_the_round_trip_that_reads_the_caller(
    tenant, tiny_rate, key_cache_on, monkeypatch
):
    assert tenant.client.get("/invoices/").status_code == 200  # the key's user is learnt

    def separate_round_trip(*args, **kwargs):
        raise AssertionError("the budget was counted in a round trip of its own")

    monkeypatch.setattr("billing.api.throttling.cache_count", separate_round_trip)
    statuses = [tenant.client.get("/invoices/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_reads_refused_before_the_budget_do_not_spend_it(
    tenant, other_tenant, tiny_rate, key_cache_on
):
    assert tenant.client.get("/invoices/").status_code == 200
    elsewhere, bad_mode = APIClient(), APIClient()
    key = f"Token {tenant.token}"
    elsewhere.credentials(HTTP_AUTHORIZATION=key, HTTP_X_SIMPLE_WORKSPACE=other_tenant.workspace.id)
    bad_mode.credentials(
        HTTP_AUTHORIZATION=key,
        HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id,
        HTTP_X_PIRIOD_TEST_MODE="maybe",
    )

    refused = [elsewhere.get("/invoices/").status_code for _ in range(4)]
    refused += [bad_mode.get("/invoices/").status_code for _ in range(4)]
    allowed = [tenant.client.get("/invoices/").status_code for _ in range(2)]

    assert refused == [403] * 4 + [400] * 4
    assert allowed == [200, 200]
    assert tenant.client.get("/invoices/").status_code == 429
