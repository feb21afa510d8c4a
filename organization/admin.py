from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from organization.models import BankAccount, Biller, OrgUnit


class TenantAdmin(admin.ModelAdmin):
    readonly_fields = ["id", "created_at", "updated_at"]
    autocomplete_fields = ["workspace"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # These objects never move to another tenant.
        if obj is not None:
            return [*self.readonly_fields, "workspace", "test_mode"]
        return self.readonly_fields


@admin.register(OrgUnit)
class OrgUnitAdmin(TenantAdmin):
    list_display = ["id", "name", "sii_branch_code", "city", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode"]
    search_fields = ["id", "name", "sii_branch_code"]


@admin.register(BankAccount)
class BankAccountAdmin(TenantAdmin):
    list_display = ["id", "bank_name", "account_number", "currency", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "account_type", "on_documents"]
    search_fields = ["id", "bank_name", "account_number"]


@admin.register(Biller)
class BillerAdmin(TenantAdmin):
    list_display = ["id", "backend", "environment", "status", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "backend", "environment", "status"]
    search_fields = ["id"]
