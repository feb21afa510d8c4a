"""Factories of the catalog: products, plans, add-ons, coupons, taxes."""

from decimal import Decimal

import factory

from billing.tests.factories import TenantFactory
from catalog.models import AddOn, Coupon, Plan, Product, Tax


class ProductFactory(TenantFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    unit_label = "unit"


class PlanFactory(TenantFactory):
    """A monthly CLP plan at 10,000 per unit."""

    class Meta:
        model = Plan

    product = factory.SubFactory(
        ProductFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    name = factory.Sequence(lambda n: f"Plan {n}")
    currency_id = "CLP"
    amount = Decimal(10000)


class AddOnFactory(TenantFactory):
    class Meta:
        model = AddOn

    name = factory.Sequence(lambda n: f"Add-on {n}")
    currency_id = "CLP"
    amount = Decimal(5000)


class CouponFactory(TenantFactory):
    """A one-time 10% coupon with a code."""

    class Meta:
        model = Coupon

    name = factory.Sequence(lambda n: f"Coupon {n}")
    code = factory.Sequence(lambda n: f"CODE{n}")
    amount = Decimal(10)


class TaxFactory(TenantFactory):
    class Meta:
        model = Tax

    name = "IVA"
    percent = Decimal(19)
    country_id = "CL"


FACTORIES: dict[type, type[TenantFactory]] = {
    Product: ProductFactory,
    Plan: PlanFactory,
    AddOn: AddOnFactory,
    Coupon: CouponFactory,
    Tax: TaxFactory,
}
