from typing import Any

import django_filters

from billing.api.filters import CharInFilter, CodeInFilter, TenantFilterSet, TenantIdFilter
from catalog.choices import TIERS_MODE_ALIASES, TiersMode
from catalog.models import AddOn, Coupon, Plan, Product, Tax


class TiersModeFilter(django_filters.ChoiceFilter):
    """`?tiers_mode=` by our name or the alias a Piriod or Stripe client sends."""

    def __init__(self, **kwargs: Any) -> None:
        choices = [*TiersMode.choices, *((alias, alias) for alias in TIERS_MODE_ALIASES)]
        super().__init__(choices=choices, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        return super().filter(qs, TIERS_MODE_ALIASES.get(value, value))


class ProductFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    code = django_filters.CharFilter(lookup_expr="iexact")
    sku = django_filters.CharFilter(lookup_expr="iexact")
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = Product
        fields = ["name", "code", "sku", "unit_label", "status"]


class PlanFilter(TenantFilterSet):
    product = TenantIdFilter(field_name="product_id", model=Product)
    name = django_filters.CharFilter(lookup_expr="icontains")
    sku = django_filters.CharFilter(lookup_expr="iexact")
    currency = django_filters.CharFilter(field_name="currency_id", lookup_expr="iexact")
    meter = django_filters.CharFilter(field_name="meter_id")
    frequency__in = CharInFilter(field_name="frequency", lookup_expr="in")
    usage_scheme__in = CharInFilter(field_name="usage_scheme", lookup_expr="in")
    tiers_mode = TiersModeFilter()
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = Plan
        fields = [
            "product", "name", "sku", "currency", "frequency", "usage_scheme", "tiers_mode",
            "exempt", "meter", "status",
        ]  # fmt: skip


class AddOnFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    sku = django_filters.CharFilter(lookup_expr="iexact")
    currency = django_filters.CharFilter(field_name="currency_id", lookup_expr="iexact")
    apply_scheme__in = CharInFilter(field_name="apply_scheme", lookup_expr="in")
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = AddOn
        fields = ["name", "sku", "currency", "apply_scheme", "status"]


class CouponFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    # Codes are matched whatever their case, as customers type them.
    code = django_filters.CharFilter(lookup_expr="iexact")
    currency = django_filters.CharFilter(field_name="currency_id", lookup_expr="iexact")
    valid_until__gte = django_filters.DateFilter(field_name="valid_until_date", lookup_expr="gte")
    valid_until__lte = django_filters.DateFilter(field_name="valid_until_date", lookup_expr="lte")
    discount_scheme__in = CharInFilter(field_name="discount_scheme", lookup_expr="in")
    duration_scheme__in = CharInFilter(field_name="duration_scheme", lookup_expr="in")
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = Coupon
        fields = [
            "name", "code", "currency", "discount_scheme", "apply_on", "duration_scheme",
            "status",
        ]  # fmt: skip


class TaxFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    country = django_filters.CharFilter(field_name="country_id", lookup_expr="iexact")
    country__in = CodeInFilter(field_name="country_id", lookup_expr="in")

    class Meta:
        model = Tax
        fields = ["name", "country", "exempt"]
