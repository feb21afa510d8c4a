"""Every API error is JSON `{"detail", "code"}`, unknown paths and methods included, with
DEBUG on or off; the admin keeps Django's own pages."""

import json

import pytest
from django.test import Client

from billing.api import views

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def client(request, settings) -> Client:  # type: ignore[no-untyped-def]
    settings.DEBUG = request.param
    return Client(raise_request_exception=False)


def _error(response) -> dict:  # type: ignore[no-untyped-def]
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"detail", "code"}, body
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "path", ["/nope/", "/nope", "/customers/cus_x/nope/", "/static/nope.js", "/%00/"]
)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_unknown_paths_are_json_404s(client, method, path) -> None:  # type: ignore[no-untyped-def]
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_missing_trailing_slash_is_a_404_that_says_so(client, method) -> None:  # type: ignore[no-untyped-def]
    response = getattr(client, method)("/customers", {"name": "x"}, content_type="application/json")
    assert response.status_code == 404
    assert "/customers/" in _error(response)["detail"]


def test_a_get_without_the_trailing_slash_redirects(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/customers?page=2")
    assert response.status_code == 301
    assert response["Location"] == "/customers/?page=2"


@pytest.mark.parametrize(
    ("method", "path"), [("delete", "/health/"), ("put", "/auth/token/"), ("put", "/openapi.json")]
)
def test_unsupported_methods_are_json_405s(client, method, path) -> None:  # type: ignore[no-untyped-def]
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_the_admin_keeps_its_own_pages(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/admin").status_code == 301
    login = client.get("/admin/", follow=True)
    assert login.status_code == 200 and login["Content-Type"].startswith("text/html")
    assert client.get("/admin/nope/")["Content-Type"].startswith("text/html")


def test_a_server_error_is_json(settings, rf) -> None:  # type: ignore[no-untyped-def]
    response = views.server_error(rf.get("/customers/"))
    assert response.status_code == 500
    assert _error(response)["code"] == "server_error"
    assert views.server_error(rf.get("/admin/"))["Content-Type"].startswith("text/html")


def test_a_line_refused_by_a_service_is_nested_as_the_serializer_nests_it(tenant) -> None:  # type: ignore[no-untyped-def]
    from customers.tests.factories import CustomerFactory

    customer = CustomerFactory(workspace=tenant.workspace)
    lines = [
        {"name": "ok", "amount": "100"},
        {"name": "x", "amount": "1", "discount": "2", "discount_scheme": "$"},  # a service's
        {"name": "y", "amount": "abc"},  # the serializer's
    ]
    body = {"customer": customer.id, "document": 33, "date": "2026-03-02"}

    by_service = tenant.client.post("/invoices/", {**body, "lines": lines[:2]}, format="json")
    by_serializer = tenant.client.post(
        "/invoices/", {**body, "lines": [lines[0], lines[2]]}, format="json"
    )

    assert (by_service.status_code, by_serializer.status_code) == (400, 400)
    assert by_service.json() == {"lines": {"1": {"discount": ["The discount exceeds the line."]}}}
    assert set(by_serializer.json()["lines"]["1"]) == {"amount"}


def test_field_paths_nest_and_keep_every_message() -> None:
    from billing.errors import nested_field_errors

    nested = nested_field_errors(
        {"lines": ["Too many."], "lines.0.amount": ["a"], "lines.0.tax": ["b"], "customer": ["c"]}
    )

    assert nested == {
        "lines": {"non_field_errors": ["Too many."], "0": {"amount": ["a"], "tax": ["b"]}},
        "customer": ["c"],
    }
