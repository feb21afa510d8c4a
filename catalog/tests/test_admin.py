"""Coupons are saved in the admin through the coupon services, as in the API."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import change_form_data
from catalog.models import Coupon
from catalog.tests.factories import CouponFactory

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
