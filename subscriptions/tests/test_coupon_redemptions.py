"""A coupon's `max_redemptions`: each invoiced order and each subscription that takes the
coupon redeems it once (`times_redeemed`), never more than it allows, whatever the
retries and races."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Coupon
from catalog.tests.factories import CouponFactory, PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Order
from invoices.services.orders import order_confirm, order_create, order_invoice
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db


def _order(tenant: Tenant, coupon: Coupon) -> dict:
    customer = CustomerFactory(workspace=tenant.workspace)
    body = {
        "customer": customer.id,
        "coupon": coupon.code,
        "items": [{"name": "x", "amount": 1000}],
    }
    response = tenant.client.post("/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _invoice(tenant: Tenant, order: dict):  # type: ignore[no-untyped-def]
    tenant.client.post(f"/orders/{order['id']}/confirm/")
    return tenant.client.post(f"/orders/{order['id']}/invoice/")


def test_a_coupon_is_created_with_its_redemption_limit(tenant: Tenant) -> None:
    body = {"name": "Launch", "code": "LAUNCH", "amount": 10, "max_redemptions": 2}

    response = tenant.client.post("/coupons/", body, format="json")
    bad = tenant.client.post("/coupons/", {**body, "code": "ZERO", "max_redemptions": 0})

    assert response.status_code == 201, response.json()
    assert (response.json()["max_redemptions"], response.json()["times_redeemed"]) == (2, 0)
    assert bad.status_code == 400 and "max_redemptions" in bad.json()


def test_invoiced_orders_redeem_a_coupon_up_to_its_limit(tenant: Tenant) -> None:
    coupon = CouponFactory(workspace=tenant.workspace, max_redemptions=2)
    orders = [_order(tenant, coupon) for _ in range(3)]  # drafts redeem nothing yet

    invoiced = [_invoice(tenant, order).status_code for order in orders]

    assert invoiced == [200, 200, 409]
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 2
    third = tenant.client.post(f"/orders/{orders[2]['id']}/invoice/")
    assert third.json()["code"] == "coupon_exhausted"
    assert Order.objects.get(pk=orders[2]["id"]).status == "confirmed"  # nothing was done
    validated = tenant.client.get(f"/coupons/validate/?code={coupon.code}")
    assert (validated.status_code, validated.json()["code"]) == (409, "coupon_exhausted")
    customer = CustomerFactory(workspace=tenant.workspace)
    new = tenant.client.post(
        "/orders/",
        {"customer": customer.id, "coupon": coupon.code, "items": [{"name": "x", "amount": 1}]},
        format="json",
    )
    assert new.status_code == 400 and "coupon" in new.json()


def test_a_subscription_redeems_its_coupon_once_and_a_replayed_post_does_not(
    tenant: Tenant,
) -> None:
    coupon = CouponFactory(workspace=tenant.workspace, max_redemptions=1, duration_scheme="forever")
    plan = PlanFactory(workspace=tenant.workspace)

    def body() -> dict:
        return {
            "customer": CustomerFactory(workspace=tenant.workspace).id,
            "coupon": coupon.id,  # on the subscription and on its line: one redemption
            "lines": [{"plan": plan.id, "quantity": 1, "coupon": coupon.id}],
        }

    def post(data: dict, key: str):  # type: ignore[no-untyped-def]
        return tenant.client.post("/subscriptions/", data, format="json", HTTP_IDEMPOTENCY_KEY=key)

    first_body = body()
    first = post(first_body, "sub-1")
    replayed = post(first_body, "sub-1")
    second = post(body(), "sub-2")

    assert first.status_code == 201, first.json()
    assert (replayed.status_code, replayed.json()["id"]) == (201, first.json()["id"])
    assert second.status_code == 400, second.json()
    assert "redeemed as often as it allows" in str(second.json())
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1


def test_the_limit_cannot_go_below_what_was_redeemed(tenant: Tenant) -> None:
    coupon = CouponFactory(workspace=tenant.workspace, max_redemptions=5, times_redeemed=3)

    lower = tenant.client.patch(f"/coupons/{coupon.id}/", {"max_redemptions": 2}, format="json")
    equal = tenant.client.patch(f"/coupons/{coupon.id}/", {"max_redemptions": 3}, format="json")

    assert lower.status_code == 400 and "max_redemptions" in lower.json()
    assert equal.status_code == 200, equal.json()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_orders_invoiced_at_once_never_redeem_past_the_limit() -> None:
    tenant = make_tenant()
    coupon = CouponFactory(workspace=tenant.workspace, max_redemptions=2)
    customer = CustomerFactory(workspace=tenant.workspace)
    orders = [
        order_confirm(
            order=order_create(
                workspace=tenant.workspace, test_mode=False, customer=customer,
                items=[{"name": "x", "amount": Decimal(1000)}], coupon=coupon.code,
                now=coupon.created_at,
            )
        )
        for _ in range(6)
    ]  # fmt: skip
    start = threading.Barrier(len(orders))
    outcomes: list[str] = []

    def invoice(order: Order) -> None:
        try:
            start.wait()
            order_invoice(order=order, now=coupon.created_at)
            outcomes.append("invoiced")
        except Exception as exc:
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=invoice, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["coupon_exhausted"] * 4 + ["invoiced"] * 2
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 2
