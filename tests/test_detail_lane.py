"""A plain detail GET goes through the lean lane (billing.api.detail_lane): it must answer
what DRF's dispatch answers, status, headers and bytes, whether the read succeeds or is
refused, and it must be the lane that answers it."""

import sys
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.viewsets import ViewSetMixin

from billing.api import viewsets
from billing.api.throttling import TokenRateThrottle
from invoices.tests.factories import FinalizedInvoiceFactory

# The same request id on both sides: it is the one header that differs by request.
REQUEST_ID = {"HTTP_X_REQUEST_ID": "req_same"}


def _answer(response) -> tuple[int, dict[str, str], bytes]:
    return response.status_code, dict(response.headers), response.content


def _lane_and_drf(get, monkeypatch) -> tuple[tuple, tuple]:
    """`get()` answered with the lane on, then with every request through DRF's dispatch."""
    get()  # compiles the read and plans the representation
    lane = _answer(get())
    with monkeypatch.context() as patched:
        patched.setattr(viewsets, "lane_parts", lambda *args: None)
        drf = _answer(get())
    return lane, drf


@contextmanager
def _counting_calls(*functions):
    """Count calls of `functions` without replacing them (the lane looks at which
    functions a view's steps are)."""
    codes = {function.__code__: function.__qualname__ for function in functions}
    calls = dict.fromkeys(codes.values(), 0)

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            calls[codes[frame.f_code]] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


DRF_DISPATCH = (ViewSetMixin.initialize_request, Response.__init__)


def test_a_plain_detail_get_is_answered_by_the_lane(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/"
    tenant.client.get(url)

    with _counting_calls(*DRF_DISPATCH) as lane_calls:
        lane = tenant.client.get(url)
    with _counting_calls(*DRF_DISPATCH) as drf_calls:
        drf = tenant.client.get(url + "?x=1")  # a query string goes through DRF's dispatch

    assert lane.status_code == drf.status_code == 200
    assert lane.json()["id"] == invoice.pk
    assert set(lane_calls.values()) == {0}, lane_calls
    assert set(drf_calls.values()) == {1}, drf_calls


def test_a_read_answers_as_drfs_dispatch(tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)

    lane, drf = _lane_and_drf(
        lambda: tenant.client.get(f"/invoices/{invoice.pk}/", **REQUEST_ID), monkeypatch
    )

    assert lane[0] == 200
    assert lane[1]["Allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    assert lane == drf


@pytest.mark.parametrize("accept", ["application/json", "*/*"])
def test_a_read_accepting_json_answers_as_drfs_dispatch(accept, tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/"

    lane, drf = _lane_and_drf(
        lambda: tenant.client.get(url, HTTP_ACCEPT=accept, **REQUEST_ID), monkeypatch
    )

    assert lane[0] == 200
    assert lane == drf


def test_a_refused_key_answers_as_drfs_dispatch(tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Token not-a-key", HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id
    )

    lane, drf = _lane_and_drf(
        lambda: client.get(f"/invoices/{invoice.pk}/", **REQUEST_ID), monkeypatch
    )

    assert lane[0] == 401
    assert lane[1]["WWW-Authenticate"] == "Token"
    assert lane == drf


def test_no_credentials_answer_as_drfs_dispatch(tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    client = APIClient()

    lane, drf = _lane_and_drf(
        lambda: client.get(
            f"/invoices/{invoice.pk}/", HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id, **REQUEST_ID
        ),
        monkeypatch,
    )

    assert lane[0] == 401
    assert lane == drf


def test_another_workspace_answers_as_drfs_dispatch(tenant, other_tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {tenant.token}",
        HTTP_X_SIMPLE_WORKSPACE=other_tenant.workspace.id,
    )

    lane, drf = _lane_and_drf(
        lambda: client.get(f"/invoices/{invoice.pk}/", **REQUEST_ID), monkeypatch
    )

    assert lane[0] == 403
    assert lane == drf


@pytest.mark.parametrize(
    "path", ["/invoices/inv_missing/", "/invoices/{foreign}/", "/invoices/inv_%00nul/"]
)
def test_what_is_not_found_answers_as_drfs_dispatch(path, tenant, other_tenant, monkeypatch):
    foreign = FinalizedInvoiceFactory(workspace=other_tenant.workspace)
    url = path.format(foreign=foreign.pk)

    lane, drf = _lane_and_drf(lambda: tenant.client.get(url, **REQUEST_ID), monkeypatch)

    assert lane[0] == 404
    assert lane == drf


@pytest.mark.parametrize(
    ("accept", "query", "status"),
    [("application/json", "?format=xml", 404), ("*/*", "?format=json", 200)],
)
def test_a_format_asked_for_answers_as_drfs_dispatch(accept, query, status, tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/{query}"

    lane, drf = _lane_and_drf(
        lambda: tenant.client.get(url, HTTP_ACCEPT=accept, **REQUEST_ID), monkeypatch
    )

    assert lane[0] == status
    assert lane == drf


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json; indent=4"])
def test_an_accept_the_lane_does_not_take_answers_as_drfs_dispatch(accept, tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/"

    lane, drf = _lane_and_drf(
        lambda: tenant.client.get(url, HTTP_ACCEPT=accept, **REQUEST_ID), monkeypatch
    )

    assert lane[0] == (200 if accept.startswith("application/json") else 406)
    assert lane == drf


@pytest.fixture
def tiny_rate(monkeypatch):
    rates = {"token": "2/min"}
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", rates)
    # One window for both sides, so both answer the same Retry-After.
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: 1_000_000_050.0)
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        yield
    cache.clear()


def test_a_spent_budget_answers_as_drfs_dispatch(tenant, tiny_rate, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)

    def third_request():
        cache.clear()
        statuses = [tenant.client.get(f"/invoices/{invoice.pk}/").status_code for _ in range(2)]
        assert statuses == [200, 200]
        return tenant.client.get(f"/invoices/{invoice.pk}/", **REQUEST_ID)

    lane, drf = _lane_and_drf(third_request, monkeypatch)

    assert lane[0] == 429
    assert lane[1]["Retry-After"] == "30"
    assert lane == drf


def test_a_refused_read_does_not_spend_the_budget(tenant, other_tenant, tiny_rate):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    cache.clear()
    elsewhere = APIClient()
    elsewhere.credentials(
        HTTP_AUTHORIZATION=f"Token {tenant.token}",
        HTTP_X_SIMPLE_WORKSPACE=other_tenant.workspace.id,
    )

    refused = [elsewhere.get(f"/invoices/{invoice.pk}/").status_code for _ in range(3)]
    allowed = [tenant.client.get(f"/invoices/{invoice.pk}/").status_code for _ in range(3)]

    assert refused == [403, 403, 403]
    assert allowed == [200, 200, 429]
