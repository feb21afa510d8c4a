"""Org units, bank accounts and the biller connection, saved through the organization
services as the API saves them: what the API refuses (a branch code that is not digits,
a holder's tax id that is not valid, a test-mode biller filing with production, an org
unit named on documents deleted) is refused on the form."""

from typing import Any

from django.contrib import admin

from billing.admin_services import ServiceModelAdmin
from organization import services
from organization.models import BankAccount, Biller, OrgUnit


class TenantAdmin(ServiceModelAdmin):
    autocomplete_fields = ["workspace"]


@admin.register(OrgUnit)
class OrgUnitAdmin(TenantAdmin):
    list_display = ["id", "name", "sii_branch_code", "city", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode"]
    search_fields = ["id", "name", "sii_branch_code"]
    service_fields = services.OrgUnitFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> OrgUnit:
        return services.orgunit_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: OrgUnit, fields: Any) -> OrgUnit:
        return services.orgunit_update(orgunit=obj, **fields)

    def service_delete(self, obj: OrgUnit) -> None:
        services.orgunit_delete(orgunit=obj)


@admin.register(BankAccount)
class BankAccountAdmin(TenantAdmin):
    list_display = ["id", "bank_name", "account_number", "currency", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "account_type", "on_documents"]
    search_fields = ["id", "bank_name", "account_number"]
    service_fields = services.BankFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> BankAccount:
        return services.bank_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: BankAccount, fields: Any) -> BankAccount:
        return services.bank_update(bank=obj, **fields)

    def service_delete(self, obj: BankAccount) -> None:
        services.bank_delete(bank=obj)


@admin.register(Biller)
class BillerAdmin(TenantAdmin):
    list_display = ["id", "backend", "environment", "status", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "backend", "environment", "status"]
    search_fields = ["id"]
    service_fields = services.BillerFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Biller:
        return services.biller_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Biller, fields: Any) -> Biller:
        return services.biller_update(biller=obj, **fields)

    def service_delete(self, obj: Biller) -> None:
        services.biller_delete(biller=obj)
