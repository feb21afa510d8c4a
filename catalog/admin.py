from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.admin_services import ServiceSaveAdminMixin
from catalog import services
from catalog.choices import CatalogStatus
from catalog.models import AddOn, Coupon, Plan, PlanTier, Product, Tax

COUPON_FIELDS = services.CouponFields.__annotations__


class TenantAdmin(admin.ModelAdmin):
    readonly_fields = ["id", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A catalog object never moves to another tenant.
        if obj is not None:
            return [*self.readonly_fields, "workspace", "test_mode"]
        return self.readonly_fields


class PlanInline(admin.TabularInline):
    model = Plan
    extra = 0
    fields = ("id", "name", "sku", "frequency", "currency", "amount", "status")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(TenantAdmin):
    list_display = ["id", "name", "code", "sku", "status", "workspace", "test_mode", "created_at"]
    list_filter = ["workspace", "test_mode", "status"]
    search_fields = ["id", "name", "code", "sku"]
    autocomplete_fields = ["workspace"]
    inlines = [PlanInline]


class PlanTierInline(admin.TabularInline):
    model = PlanTier
    extra = 0
    fields = ["position", "up_to", "amount", "flat_amount"]


@admin.register(Plan)
class PlanAdmin(TenantAdmin):
    list_display = [
        "id", "name", "product", "frequency", "currency", "amount", "tiers_mode", "status",
        "workspace", "test_mode",
    ]  # fmt: skip
    list_filter = ["workspace", "test_mode", "status", "frequency", "usage_scheme", "tiers_mode"]
    search_fields = ["id", "name", "sku", "product__name"]
    autocomplete_fields = ["product"]
    inlines = [PlanTierInline]
    readonly_fields = ["id", "created_at", "updated_at", "workspace", "test_mode"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        # A plan lives in its product's tenant.
        obj.workspace_id = obj.product.workspace_id
        obj.test_mode = obj.product.test_mode
        super().save_model(request, obj, form, change)


@admin.register(AddOn)
class AddOnAdmin(TenantAdmin):
    list_display = [
        "id", "name", "sku", "amount", "currency", "apply_scheme", "status", "workspace",
        "test_mode",
    ]  # fmt: skip
    list_filter = ["workspace", "test_mode", "status", "apply_scheme"]
    search_fields = ["id", "name", "sku"]
    autocomplete_fields = ["workspace"]


@admin.register(Coupon)
class CouponAdmin(ServiceSaveAdminMixin, TenantAdmin):
    """Saved through the coupon services, which check the amount and the code (unique
    whatever its case) as the API does."""

    list_display = [
        "id", "name", "code", "discount_scheme", "amount", "currency", "duration_scheme",
        "valid_until_date", "status", "workspace", "test_mode",
    ]  # fmt: skip
    list_filter = ["workspace", "test_mode", "status", "discount_scheme", "duration_scheme"]
    search_fields = ["id", "name", "code"]
    autocomplete_fields = ["workspace"]

    def save_model(self, request: HttpRequest, obj: Coupon, form: Any, change: bool) -> None:
        data = form.cleaned_data
        names = form.changed_data if change else data
        fields = {name: data[name] for name in names if name in COUPON_FIELDS}
        if change:
            coupon = services.coupon_update(coupon=obj, **fields) if fields else obj
        else:
            coupon = services.coupon_create(
                workspace=data["workspace"], test_mode=data["test_mode"], **fields
            )
            obj.pk = coupon.pk
        if "status" in form.changed_data:
            archived = data["status"] == CatalogStatus.ARCHIVED
            (services.coupon_archive if archived else services.coupon_unarchive)(coupon=coupon)


@admin.register(Tax)
class TaxAdmin(TenantAdmin):
    list_display = ["id", "name", "percent", "country", "exempt", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "exempt", "country"]
    search_fields = ["id", "name"]
    autocomplete_fields = ["workspace"]
