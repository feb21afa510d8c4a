"""An order names its plans and coupon by id: they are not deleted while it is open, and
invoicing one whose plan or coupon is gone anyway (deleted before that was refused) is a
400 on it, never a 500."""

import pytest

from catalog.models import Coupon, Plan
from catalog.tests.factories import CouponFactory, PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice, Order
from subscriptions.models import Subscription
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tester() -> Tenant:
    return make_tenant(test_mode=True)


def _order(tenant: Tenant) -> tuple[dict, Plan, Coupon]:
    scope = {"workspace": tenant.workspace, "test_mode": True}
    plan, coupon = PlanFactory(**scope), CouponFactory(**scope)
    response = tenant.client.post(
        "/orders/",
        {
            "customer": CustomerFactory(**scope).id,
            "coupon": coupon.id,
            "items": [{"name": "Setup", "amount": "1000"}, {"plan": plan.id, "quantity": 2}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json(), plan, coupon


@pytest.mark.parametrize("confirmed", [False, True])
def test_the_plan_and_coupon_of_an_open_order_are_not_deleted(
    tester: Tenant, confirmed: bool
) -> None:
    order, plan, coupon = _order(tester)
    if confirmed:
        assert tester.client.post(f"/orders/{order['id']}/confirm/").status_code == 200

    held = {f"/plans/{plan.id}/": "plan_in_use", f"/coupons/{coupon.id}/": "coupon_in_use"}
    for path, code in held.items():
        response = tester.client.delete(path)
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == code
        assert order["id"] in response.json()["detail"]

    assert tester.client.delete(f"/orders/{order['id']}/").status_code == 204
    assert tester.client.delete(f"/plans/{plan.id}/").status_code == 204
    assert tester.client.delete(f"/coupons/{coupon.id}/").status_code == 204


@pytest.mark.parametrize("gone", ["plan", "coupon"])
def test_invoicing_an_order_whose_plan_or_coupon_is_gone_is_a_400(
    tester: Tenant, gone: str
) -> None:
    order, plan, coupon = _order(tester)
    plan_id, coupon_id = plan.id, coupon.id
    assert tester.client.post(f"/orders/{order['id']}/confirm/").status_code == 200
    (plan if gone == "plan" else coupon).delete()  # as before deleting them was refused

    response = tester.client.post(f"/orders/{order['id']}/invoice/")

    assert response.status_code == 400, response.json()
    expected = (
        {"items": {"1": {"plan": [f"Plan {plan_id} no longer exists."]}}}
        if gone == "plan"
        else {"coupon": [f"Coupon {coupon_id} no longer exists."]}
    )
    assert response.json() == expected
    assert Order.objects.get(pk=order["id"]).status == "confirmed"
    assert not Invoice.objects.exists() and not Subscription.objects.exists()
