"""`/orgunits/`, `/banks/` and `/billers/built_in/`: one service call per write."""

from typing import Any

from billing.api.viewsets import TenantModelViewSet
from organization import services
from organization.filters import BankAccountFilter, BillerFilter, OrgUnitFilter
from organization.models import BankAccount, Biller, OrgUnit
from organization.representations import (
    BankAccountSerializer,
    BillerSerializer,
    OrgUnitSerializer,
)
from organization.selectors import bank_queryset, biller_queryset, orgunit_queryset


class OrganizationViewSet(TenantModelViewSet):
    @property
    def tenant(self) -> dict[str, Any]:
        request: Any = self.request
        return {"workspace": request.workspace, "test_mode": request.test_mode}


class OrgUnitViewSet(OrganizationViewSet):
    """Branches (sucursales): an address and the SII's branch code; an invoice names the
    one it is issued from in `orgunit`."""

    queryset = orgunit_queryset()
    serializer_class = OrgUnitSerializer
    filterset_class = OrgUnitFilter
    search_fields = ["name", "address", "city"]
    ordering_fields = ("created", "updated", "name")

    def create_object(self, data: dict[str, Any]) -> OrgUnit:
        return services.orgunit_create(**self.tenant, **data)

    def update_object(self, instance: OrgUnit, data: dict[str, Any]) -> OrgUnit:
        return services.orgunit_update(orgunit=instance, **data)

    def perform_destroy(self, instance: OrgUnit) -> None:
        services.orgunit_delete(orgunit=instance)


class BankAccountViewSet(OrganizationViewSet):
    """The workspace's bank accounts, printed on its documents for payment by transfer."""

    queryset = bank_queryset()
    serializer_class = BankAccountSerializer
    filterset_class = BankAccountFilter
    search_fields = ["bank_name", "account_number", "holder_name"]
    ordering_fields = ("created", "updated", "bank_name")

    def create_object(self, data: dict[str, Any]) -> BankAccount:
        return services.bank_create(**self.tenant, **data)

    def update_object(self, instance: BankAccount, data: dict[str, Any]) -> BankAccount:
        return services.bank_update(bank=instance, **data)

    def perform_destroy(self, instance: BankAccount) -> None:
        services.bank_delete(bank=instance)


class BillerViewSet(OrganizationViewSet):
    """The workspace's tax-agency connection (Piriod's built-in biller), one per mode."""

    queryset = biller_queryset()
    serializer_class = BillerSerializer
    filterset_class = BillerFilter

    def create_object(self, data: dict[str, Any]) -> Biller:
        return services.biller_create(**self.tenant, **data)

    def update_object(self, instance: Biller, data: dict[str, Any]) -> Biller:
        return services.biller_update(biller=instance, **data)

    def perform_destroy(self, instance: Biller) -> None:
        services.biller_delete(biller=instance)
