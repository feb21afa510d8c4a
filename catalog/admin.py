"""The catalog in the back office, saved through the catalog services as the API saves it:
a price in use keeps its fields (`*_in_use` shows on the form), an object in use is not
deleted, and archiving goes through the archive services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.admin_money import MoneyAdminMixin
from billing.admin_services import ServiceModelAdmin
from billing.clock import clock_now_for
from catalog import services
from catalog.choices import CatalogStatus
from catalog.models import AddOn, Coupon, Plan, PlanTier, Product, Tax


class CatalogAdmin(MoneyAdminMixin, ServiceModelAdmin):
    """Prices in the lists and read-only fields as money in their currency."""

    archived_status = CatalogStatus.ARCHIVED


class PlanInline(MoneyAdminMixin, admin.TabularInline):
    model = Plan
    extra = 0
    fields = ("id", "name", "sku", "frequency", "currency", "amount", "status")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(CatalogAdmin):
    list_display = ["id", "name", "code", "sku", "status", "workspace", "test_mode", "created_at"]
    list_filter = ["workspace", "test_mode", "status"]
    search_fields = ["id", "name", "code", "sku"]
    autocomplete_fields = ["workspace"]
    inlines = [PlanInline]
    service_fields = services.ProductFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Product:
        return services.product_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Product, fields: Any) -> Product:
        return services.product_update(product=obj, **fields)

    def service_delete(self, obj: Product) -> None:
        services.product_delete(product=obj)

    def service_archive(self, obj: Product) -> Product:
        return services.product_archive(product=obj, now=clock_now_for(obj))

    def service_unarchive(self, obj: Product) -> Product:
        return services.product_unarchive(product=obj)


class PlanTierInline(MoneyAdminMixin, admin.TabularInline):
    """Shown only: tiers are replaced as a whole by the plan services, which check them
    together and keep those of a plan in use, so they change through the API."""

    model = PlanTier
    extra = 0
    fields = ("position", "up_to", "amount", "flat_amount")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(CatalogAdmin):
    list_display = [
        "id", "name", "product", "frequency", "currency", "amount_shown", "tiers_mode", "status",
        "workspace", "test_mode",
    ]  # fmt: skip
    list_filter = ["workspace", "test_mode", "status", "frequency", "usage_scheme", "tiers_mode"]
    search_fields = ["id", "name", "sku", "product__name"]
    autocomplete_fields = ["product"]
    inlines = [PlanTierInline]
    service_fields = services.PlanFields.__annotations__
    # A plan lives in its product's tenant.
    tenant_from = "product"

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Plan:
        return services.plan_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Plan, fields: Any) -> Plan:
        return services.plan_update(plan=obj, **fields)

    def service_delete(self, obj: Plan) -> None:
        services.plan_delete(plan=obj)

    def service_archive(self, obj: Plan) -> Plan:
        return services.plan_archive(plan=obj)

    def service_unarchive(self, obj: Plan) -> Plan:
        return services.plan_unarchive(plan=obj)


@admin.register(AddOn)
class AddOnAdmin(CatalogAdmin):
    list_display = [
        "id", "name", "sku", "amount_shown", "currency", "apply_scheme", "status", "workspace",
        "test_mode",
    ]  # fmt: skip
    list_filter = ["workspace", "test_mode", "status", "apply_scheme"]
    search_fields = ["id", "name", "sku"]
    autocomplete_fields = ["workspace"]
    service_fields = services.AddOnFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> AddOn:
        return services.addon_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: AddOn, fields: Any) -> AddOn:
        return services.addon_update(addon=obj, **fields)

    def service_delete(self, obj: AddOn) -> None:
        services.addon_delete(addon=obj)

    def service_archive(self, obj: AddOn) -> AddOn:
        return services.addon_archive(addon=obj)

    def service_unarchive(self, obj: AddOn) -> AddOn:
        return services.addon_unarchive(addon=obj)


@admin.register(Coupon)
class CouponAdmin(CatalogAdmin):
    list_display = [
        "id", "name", "code", "discount_scheme", "amount_shown", "currency", "duration_scheme",
        "valid_until_date", "status", "workspace", "test_mode",
    ]  # fmt: skip
    list_filter = ["workspace", "test_mode", "status", "discount_scheme", "duration_scheme"]
    search_fields = ["id", "name", "code"]
    autocomplete_fields = ["workspace"]
    service_fields = services.CouponFields.__annotations__
    scheme_percent_field = "amount"

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Coupon:
        return services.coupon_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Coupon, fields: Any) -> Coupon:
        return services.coupon_update(coupon=obj, **fields)

    def service_delete(self, obj: Coupon) -> None:
        services.coupon_delete(coupon=obj)

    def service_archive(self, obj: Coupon) -> Coupon:
        return services.coupon_archive(coupon=obj)

    def service_unarchive(self, obj: Coupon) -> Coupon:
        return services.coupon_unarchive(coupon=obj)


@admin.register(Tax)
class TaxAdmin(ServiceModelAdmin):
    list_display = ["id", "name", "percent", "country", "exempt", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "exempt", "country"]
    search_fields = ["id", "name"]
    autocomplete_fields = ["workspace"]
    service_fields = services.TaxFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Tax:
        return services.tax_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Tax, fields: Any) -> Tax:
        return services.tax_update(tax=obj, **fields)

    def service_delete(self, obj: Tax) -> None:
        services.tax_delete(tax=obj)
