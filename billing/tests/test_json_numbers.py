"""JSON numbers are exact: the parser gives Decimals (billing.api.parsers), amounts keep
every digit or are a 400 on their field, and free-form objects store numbers as numbers."""

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from billing.encoders import JSONEncoder, decimal_literal, json_bytes
from billing.models import Event
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db

US_INVOICE = 1180


@pytest.fixture
def us_tenant(db) -> Tenant:  # type: ignore[no-untyped-def]
    return make_tenant(country="US")


def _post(tenant: Tenant, path: str, raw_body: str):  # type: ignore[no-untyped-def]
    """The body is sent as written, so numbers reach the server as JSON numbers."""
    return tenant.client.generic("POST", path, raw_body, content_type="application/json")


def _invoice(tenant: Tenant, amount: str, quantity: str = "1"):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(
        workspace=tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )
    return _post(
        tenant,
        "/invoices/",
        f'{{"customer": "{customer.id}", "document": {US_INVOICE}, "date": "2026-03-31", '
        f'"lines": [{{"name": "X", "amount": {amount}, "quantity": {quantity}}}]}}',
    )


def _decoded(response) -> Any:  # type: ignore[no-untyped-def]
    """The body with every number with a fraction read as a Decimal, digit for digit."""
    return json.loads(response.content, parse_float=Decimal)


@pytest.mark.postgresql
def test_the_largest_amount_round_trips_byte_for_byte(us_tenant) -> None:  # type: ignore[no-untyped-def]
    # 18 integer digits is the most an amount holds; USD has 2 decimals.
    largest = "999999999999999999.99"
    created = _invoice(us_tenant, largest)
    fetched = us_tenant.client.get(f"/invoices/{created.json()['id']}/")

    assert created.status_code == 201, created.content
    for response in (created, fetched):
        assert re.search(rb'"total":999999999999999999\.99[,}]', response.content)
        assert re.search(rb'"amount":999999999999999999\.99[,}]', response.content)
        assert _decoded(response)["lines"][0]["total"] == Decimal(largest)


def test_an_amount_sent_as_a_json_number_keeps_every_digit(us_tenant) -> None:  # type: ignore[no-untyped-def]
    response = _invoice(us_tenant, "12345678901234567.89")

    assert response.status_code == 201, response.content
    body = _decoded(response)
    assert body["currency"] == "USD"
    assert body["lines"][0]["total"] == Decimal("12345678901234567.89")
    assert body["total"] == Decimal("12345678901234567.89")


def test_amounts_are_numbers_a_client_can_add_to(us_tenant) -> None:  # type: ignore[no-untyped-def]
    response = _invoice(us_tenant, '"1190.50"', quantity='"2"')

    body = response.json()
    assert response.status_code == 201, response.content
    assert isinstance(body["total"], int | float)
    assert isinstance(body["lines"][0]["quantity"], int | float)
    assert body["total"] + 1 == 2382
    assert Decimal(str(body["total"])) == Decimal("2381")


def test_an_exponent_is_a_number_like_any_other(us_tenant) -> None:  # type: ignore[no-untyped-def]
    response = _invoice(us_tenant, "1.25E+2", quantity="2e0")

    assert response.status_code == 201, response.content
    # Written in plain notation, as the Decimal 250 normalizes to 2.5E+2.
    assert re.search(rb'"total":250[,}]', response.content)
    assert Decimal(str(response.json()["total"])) == Decimal("250")


@pytest.mark.parametrize(
    ("amount", "quantity", "message"),
    [
        ("1.1234567", "1", "no more than 6 decimal places"),
        ("1234567890123456789.5", "1", "no more than 18 digits before the decimal point"),
        ("1234567890123456789", "1", "no more than 18 digits before the decimal point"),
        ("1", "1.0000001", "no more than 6 decimal places"),
        ("1", "1234567890123456789012345.5", "no more than 24 digits before the decimal point"),
    ],
)
def test_a_number_beyond_the_column_is_a_400_on_its_field(
    us_tenant, amount, quantity, message
) -> None:  # type: ignore[no-untyped-def]
    response = _invoice(us_tenant, amount, quantity)

    assert response.status_code == 400, response.content
    errors = response.json()["lines"]["0"]
    assert any(message in text for texts in errors.values() for text in texts), errors


def test_free_form_objects_store_and_return_numbers_as_numbers(tenant) -> None:  # type: ignore[no-untyped-def]
    response = _post(
        tenant,
        "/customers/",
        '{"name": "ACME", "country": "US", "metadata": {"score": 1.50, "n": 7},'
        ' "tax_settings": {"rate": 0.19, "big": 12345678901234567.89, "n": 3, "e": 1E+2}}',
    )

    assert response.status_code == 201, response.content
    created = _decoded(response)
    assert created["tax_settings"] == {
        "rate": Decimal("0.19"), "big": Decimal("12345678901234567.89"), "n": 3, "e": 100
    }  # fmt: skip
    assert b'"big":12345678901234567.89' in response.content
    assert created["metadata"] == {"score": "1.50", "n": "7"}
    fetched = tenant.client.get(f"/customers/{created['id']}/")
    assert _decoded(fetched)["tax_settings"] == created["tax_settings"]
    assert b'"big":12345678901234567.89' in fetched.content
    event = Event.objects.get(type="customer.created", object_id=created["id"])
    assert event.data["tax_settings"] == created["tax_settings"]
    if connection.vendor == "postgresql":  # jsonb keeps the number, every digit of it
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tax_settings->>'big', jsonb_typeof(tax_settings->'rate') "
                f"FROM {Customer._meta.db_table} WHERE id = %s",
                [created["id"]],
            )
            assert cursor.fetchone() == ("12345678901234567.89", "number")


@pytest.mark.parametrize(
    "raw", ['{"tax_settings": {"x": 1e400}}', '{"tax_settings": {"x": 1e99999999999999999999}}']
)
def test_numbers_no_reader_can_give_back_are_400(tenant, raw) -> None:  # type: ignore[no-untyped-def]
    response = _post(tenant, "/customers/", raw)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "parse_error"


def test_integers_stay_integers(tenant) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"name": "ACME", "country": "US", "tax_settings": {"n": 10**30}})
    response = _post(tenant, "/customers/", body)

    assert response.status_code == 201, response.content
    assert response.json()["tax_settings"] == {"n": 10**30}


def test_a_replayed_response_keeps_every_digit(us_tenant) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(
        workspace=us_tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )
    body = (
        f'{{"customer": "{customer.id}", "document": {US_INVOICE}, "date": "2026-03-31", '
        '"lines": [{"name": "X", "amount": 12345678901234567.89, "quantity": 1}]}'
    )

    def send():  # type: ignore[no-untyped-def]
        return us_tenant.client.generic(
            "POST", "/invoices/", body, content_type="application/json",
            headers={"Idempotency-Key": "replay-1"},
        )  # fmt: skip

    first, replayed = send(), send()

    assert first.status_code == replayed.status_code == 201, first.content
    assert replayed["Idempotent-Replayed"] == "true"
    # The same object (jsonb stores its keys in an order of its own), every number exact.
    assert _decoded(replayed) == _decoded(first)
    assert b'"total":12345678901234567.89' in replayed.content


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("64803.50", "64803.5"),
        ("1E+2", "100"),
        ("0E-6", "0"),
        ("-0.000", "0"),
        ("-12.300", "-12.3"),
        ("1.5E-7", "0.00000015"),
        ("999999999999999999.990000", "999999999999999999.99"),
        # More digits than Decimal's default context keeps: none is rounded away.
        ("1234567890123456789012345678901.5", "1234567890123456789012345678901.5"),
    ],
)
def test_a_decimal_is_written_as_its_plain_literal(value, text) -> None:  # type: ignore[no-untyped-def]
    assert decimal_literal(Decimal(value)) == text
    assert json_bytes({"n": Decimal(value)}) == b'{"n":' + text.encode() + b"}"
    assert json.dumps({"n": Decimal(value)}, cls=JSONEncoder) == '{"n": ' + text + "}"


def test_integers_beyond_64_bits_are_written_too() -> None:
    assert (
        json_bytes({"n": 10**30, "d": Decimal("0.5")})
        == b'{"n":' + str(10**30).encode() + b',"d":0.5}'
    )
