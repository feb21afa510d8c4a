"""The catalog is saved in the admin through the catalog services, as in the API."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import change_form_data
from catalog.choices import CatalogStatus
from catalog.models import AddOn, Coupon, Plan, Product, Tax
from catalog.tests.factories import (
    AddOnFactory,
    CouponFactory,
    PlanFactory,
    ProductFactory,
    TaxFactory,
)
from subscriptions.models import SubscriptionAddOn
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_a_code_another_coupon_has_in_another_case_is_refused_on_the_form(admin_client):
    taken = CouponFactory(code="SUMMER")
    coupon = CouponFactory(workspace=taken.workspace, test_mode=taken.test_mode)
    url = reverse("admin:catalog_coupon_change", args=[coupon.pk])
    data = change_form_data(coupon, skip=("workspace", "test_mode"), code="summer")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "A coupon with this code exists." in response.content.decode()
    assert Coupon.objects.get(pk=coupon.pk).code == coupon.code


def test_a_coupon_is_added_through_the_service(admin_client):
    taken = CouponFactory(code="SUMMER")
    data = change_form_data(taken, name="Winter", code="WINTER")

    response = admin_client.post(reverse("admin:catalog_coupon_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Coupon.objects.get(code="WINTER").workspace_id == taken.workspace_id


# Products, plans, add-ons and taxes go through their services too: a price in use keeps
# its fields and the services' rules show on the form.


def change_url(obj):
    return reverse(f"admin:catalog_{obj._meta.model_name}_change", args=[obj.pk])


def tenant_fields(obj):
    return {"workspace": obj.workspace_id, "test_mode": "on" if obj.test_mode else ""}


def held_plan():
    subscription = SubscriptionFactory()
    return subscription.lines.get().plan


def test_a_plan_a_live_subscription_bills_with_keeps_its_price(admin_client):
    plan = held_plan()
    data = change_form_data(plan, inlines=("tiers",), amount="99999")

    response = admin_client.post(change_url(plan), data)

    assert response.status_code == 200
    assert "its amount cannot change" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).amount == plan.amount


def test_a_plan_in_use_may_be_renamed(admin_client):
    plan = held_plan()
    data = change_form_data(plan, inlines=("tiers",), name="Renamed")

    response = admin_client.post(change_url(plan), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Plan.objects.get(pk=plan.pk).name == "Renamed"


def test_a_plan_does_not_move_to_a_product_of_another_tenant(admin_client):
    plan = PlanFactory()
    elsewhere = ProductFactory()
    data = change_form_data(plan, inlines=("tiers",), product=elsewhere.pk)

    response = admin_client.post(change_url(plan), data)

    assert response.status_code == 200
    assert f"No product {elsewhere.pk}." in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).product_id == plan.product_id


def test_a_plan_is_added_in_its_products_tenant(admin_client):
    product = ProductFactory(test_mode=True)
    data = change_form_data(PlanFactory.build(product=product), inlines=("tiers",))
    data |= {"product": product.pk, "name": "Added", "currency": "CLP"}

    response = admin_client.post(reverse("admin:catalog_plan_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    added = Plan.objects.get(name="Added")
    assert (added.workspace_id, added.test_mode) == (product.workspace_id, True)


def test_an_addon_a_live_subscription_bills_with_keeps_its_price(admin_client):
    addon = AddOnFactory()
    subscription = SubscriptionFactory(workspace=addon.workspace)
    SubscriptionAddOn.objects.create(subscription=subscription, addon=addon)

    response = admin_client.post(change_url(addon), change_form_data(addon, amount="1"))

    assert response.status_code == 200
    assert "its amount cannot change" in response.content.decode()
    assert AddOn.objects.get(pk=addon.pk).amount == addon.amount


def test_a_coupon_a_live_subscription_bills_with_keeps_its_price(admin_client):
    coupon = CouponFactory()
    SubscriptionFactory(workspace=coupon.workspace, coupon=coupon)
    data = change_form_data(coupon, skip=("workspace", "test_mode"), amount="50")

    response = admin_client.post(change_url(coupon), data)

    assert response.status_code == 200
    assert "its amount cannot change" in response.content.decode()
    assert Coupon.objects.get(pk=coupon.pk).amount == coupon.amount


def test_an_exempt_tax_with_a_percent_is_refused_on_the_form(admin_client):
    tax = TaxFactory()

    response = admin_client.post(change_url(tax), change_form_data(tax, exempt="on"))

    assert response.status_code == 200
    assert not Tax.objects.get(pk=tax.pk).exempt


def test_a_tax_is_added_through_the_service(admin_client):
    model = TaxFactory(test_mode=True)
    data = change_form_data(model, name="Added") | tenant_fields(model)

    response = admin_client.post(reverse("admin:catalog_tax_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    added = Tax.objects.get(name="Added")
    assert (added.workspace_id, added.test_mode) == (model.workspace_id, True)


def test_a_product_is_archived_through_the_service(admin_client):
    product = ProductFactory()
    data = change_form_data(product, inlines=("plans",), status=CatalogStatus.ARCHIVED)

    response = admin_client.post(change_url(product), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    product.refresh_from_db()
    assert product.status == CatalogStatus.ARCHIVED
    assert product.archived_at is not None


def test_a_product_is_added_through_the_service(admin_client):
    model = ProductFactory()
    data = change_form_data(model, inlines=("plans",), name="Added") | tenant_fields(model)

    response = admin_client.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Product.objects.get(name="Added").workspace_id == model.workspace_id


@pytest.mark.parametrize("factory", [ProductFactory, AddOnFactory, TaxFactory, CouponFactory])
def test_what_only_the_services_set_is_not_on_the_form(admin_client, factory):
    obj = factory()

    response = admin_client.get(change_url(obj))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"workspace", "test_mode", "archived_at"}.isdisjoint(form.fields)
