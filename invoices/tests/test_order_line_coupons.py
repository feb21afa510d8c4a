"""A coupon with `apply_on: "line"` comes off each item of an order, as off each line of a
subscription's invoice; one with `apply_on: "invoice"` off the whole order."""

from decimal import Decimal

import pytest

from catalog.tests.factories import CouponFactory
from customers.tests.factories import CustomerFactory
from tests.api_errors import field_error
from tests.numbers import D

pytestmark = pytest.mark.django_db

ITEMS = [
    {"name": "Consultoría", "amount": "10000", "quantity": "3"},
    {"name": "Setup", "amount": "4990"},
]


@pytest.fixture
def customer(tenant):
    return CustomerFactory(workspace=tenant.workspace)


def order(tenant, customer, coupon, items=ITEMS):
    return tenant.client.post(
        "/orders/", {"customer": customer.id, "items": items, "coupon": coupon}, format="json"
    )


def test_an_amount_coupon_on_lines_comes_off_each_item(tenant, customer):
    CouponFactory(
        workspace=tenant.workspace, code="MIL", discount_scheme="$", amount=Decimal(1000),
        currency_id="CLP", apply_on="line",
    )  # fmt: skip

    response = order(tenant, customer, "MIL")

    # 30,000 − 1,000 = 29,000 and 4,990 − 1,000 = 3,990: 32,990, IVA 6,268.1 → 6,268.
    # Off the whole order it would be 34,990 − 1,000 = 33,990.
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [item["total"] for item in body["items"]] == [D("29000"), D("3990")]
    assert (body["discount_amount"], body["subtotal"], body["tax"], body["total"]) == (
        D("0"),
        D("32990"),
        D("6268"),
        D("39258"),
    )


def test_a_percent_coupon_on_lines_comes_off_each_item_and_its_invoice(tenant, customer):
    CouponFactory(workspace=tenant.workspace, code="DIEZ", amount=Decimal(10), apply_on="line")
    created = order(tenant, customer, "DIEZ").json()

    tenant.client.post(f"/orders/{created['id']}/confirm/")
    invoiced = tenant.client.post(f"/orders/{created['id']}/invoice/").json()
    invoice = tenant.client.get(f"/invoices/{invoiced['invoice']}/").json()

    # 30,000 − 10% = 27,000 and 4,990 − 10% = 4,491: 31,491, IVA 5,983.29 → 5,983.
    assert [item["total"] for item in created["items"]] == [D("27000"), D("4491")]
    assert (created["subtotal"], created["total"]) == (D("31491"), D("37474"))
    assert [line["total"] for line in invoice["lines"]] == [D("27000"), D("4491")]
    assert (invoice["discount_amount"], invoice["total"]) == (D("0"), D("37474"))


def test_an_amount_coupon_on_lines_takes_at_most_each_item(tenant, customer):
    CouponFactory(
        workspace=tenant.workspace, code="CINCO", discount_scheme="$", amount=Decimal(5000),
        currency_id="CLP", apply_on="line",
    )  # fmt: skip

    body = order(tenant, customer, "CINCO").json()

    assert [item["total"] for item in body["items"]] == [D("25000"), D("0")]


def test_an_item_with_its_own_discount_and_a_line_coupon_is_400(tenant, customer):
    CouponFactory(workspace=tenant.workspace, code="DIEZ", amount=Decimal(10), apply_on="line")
    items = [ITEMS[0], {**ITEMS[1], "discount": "5"}]

    response = order(tenant, customer, "DIEZ", items)

    assert response.status_code == 400, response.json()
    assert field_error(response.json(), "items.1.discount")


def test_an_order_with_a_line_coupon_sent_back_as_it_reads_keeps_it(tenant, customer):
    CouponFactory(workspace=tenant.workspace, code="DIEZ", amount=Decimal(10), apply_on="line")
    created = order(tenant, customer, "DIEZ").json()
    items = [
        {k: v for k, v in item.items() if k not in ("id", "total")} for item in created["items"]
    ]

    response = tenant.client.patch(f"/orders/{created['id']}/", {"items": items}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["total"] == created["total"]


def test_removing_a_line_coupon_without_the_items_is_400(tenant, customer):
    CouponFactory(workspace=tenant.workspace, code="DIEZ", amount=Decimal(10), apply_on="line")
    created = order(tenant, customer, "DIEZ").json()

    kept = tenant.client.patch(f"/orders/{created['id']}/", {"coupon": None}, format="json")
    resent = tenant.client.patch(
        f"/orders/{created['id']}/", {"coupon": None, "items": ITEMS}, format="json"
    )

    assert kept.status_code == 400, kept.json()
    assert field_error(kept.json(), "items")
    assert resent.status_code == 200, resent.json()
    assert resent.json()["total"] == D("41638")  # 34,990 + 19%
