"""The OpenAPI document matches the server: what tests/openapi_statuses.py checks over a
whole run, and the declarations issue 13 found wrong."""

import pytest

from tests.factories import CustomerFactory
from tests.live import openapi_document
from tests.openapi_statuses import undocumented


def test_a_status_an_operation_does_not_document_is_reported() -> None:
    document = openapi_document()
    seen = {
        ("DELETE", "/subscriptions/sub_01X/", 201),  # not documented: reported
        ("GET", "/coupons/validate/", 200),  # a literal path, not /coupons/{id}/
        ("GET", "/customers/", 200),
        ("PUT", "/health/", 405),  # not an operation
        ("GET", "/nope/", 404),  # not a path of the document
        ("POST", "/customers/", 500),  # server errors are G7's
    }

    assert undocumented(seen, document) == [
        "DELETE /subscriptions/{id}/: 201"
        " (documented: 200, 400, 401, 403, 404, 406, 409, 413, 415, 429)"
    ]


def test_cancelling_a_subscription_is_documented_as_200_with_the_subscription() -> None:
    delete = openapi_document()["paths"]["/subscriptions/{id}/"]["delete"]["responses"]

    assert "204" not in delete
    assert delete["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Subscription"
    }


def test_retention_scheme_is_an_enum() -> None:
    schemas = openapi_document()["components"]["schemas"]

    assert schemas["InvoiceLine"]["properties"]["retention_scheme"]["allOf"] == [
        {"$ref": "#/components/schemas/RetentionSchemeEnum"}
    ]
    assert schemas["RetentionSchemeEnum"]["enum"] == ["subtotal"]


@pytest.mark.django_db
def test_a_retention_scheme_outside_the_enum_is_a_400(tenant) -> None:  # type: ignore[no-untyped-def]
    body = {
        "customer": CustomerFactory(workspace=tenant.workspace).id,
        "document": 33,
        "lines": [{"name": "X", "amount": "100", "retention_scheme": "total"}],
    }

    response = tenant.client.post("/invoices/", body, format="json")

    assert response.status_code == 400
    assert "retention_scheme" in response.json()["lines"]["0"]


def test_an_accept_nothing_renders_is_a_406_its_operation_documents(tenant) -> None:  # type: ignore[no-untyped-def]
    response = tenant.client.get("/customers/", HTTP_ACCEPT="image/png")

    assert response.status_code == 406
    assert undocumented({("GET", "/customers/", 406)}, openapi_document()) == []


def test_a_file_route_documents_no_406() -> None:
    """A PDF route answers its PDF whatever Accept says (invoices/api/files.py)."""
    pdf = openapi_document()["paths"]["/invoices/{id}/pdf/"]["get"]["responses"]

    assert "406" not in pdf
