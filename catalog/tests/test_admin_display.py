"""Prices in the catalog's lists and pages read as money in their currency (`$10.000`),
a percent coupon as a percent, not as their columns store them (`10000.000000`)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import PlanTier
from catalog.tests.factories import AddOnFactory, CouponFactory, PlanFactory

pytestmark = pytest.mark.django_db


def _cells(html: str, field: str) -> list[str]:
    return re.findall(rf'class="field-{field}[^"]*">(.*?)</t[dh]>', html)


def test_plans_add_ons_and_coupons_are_listed_with_their_money(admin_client):
    PlanFactory(amount=Decimal("10000"))
    AddOnFactory(amount=Decimal("5000"))
    CouponFactory(amount=Decimal("10"))  # percent, the default
    CouponFactory(discount_scheme="$", amount=Decimal("1999.5"), currency_id="USD")

    plans = admin_client.get(reverse("admin:catalog_plan_changelist")).content.decode()
    add_ons = admin_client.get(reverse("admin:catalog_addon_changelist")).content.decode()
    coupons = admin_client.get(reverse("admin:catalog_coupon_changelist")).content.decode()

    assert _cells(plans, "amount_shown") == ["$10.000"]
    assert _cells(add_ons, "amount_shown") == ["$5.000"]
    assert sorted(_cells(coupons, "amount_shown")) == ["10 %", "US$1,999.50"]
    for html in (plans, add_ons, coupons):
        assert not re.search(r"\d\.0{6}\b", html)


def test_a_plan_s_tiers_and_a_product_s_plans_show_money(admin_client):
    plan = PlanFactory(amount=Decimal("10000"))
    PlanTier.objects.create(
        plan=plan, position=0, up_to=10, amount=Decimal("990"), flat_amount=Decimal(0)
    )

    plan_page = admin_client.get(reverse("admin:catalog_plan_change", args=[plan.pk]))
    product_page = admin_client.get(reverse("admin:catalog_product_change", args=[plan.product_id]))

    assert "$990" in plan_page.content.decode()
    assert "$10.000" in product_page.content.decode()
    for page in (plan_page, product_page):
        assert not re.search(r">\s*\d+\.\d{6}\s*<", page.content.decode())
