import django_filters

from billing.api.filters import TenantFilterSet
from organization.models import BankAccount, Biller, OrgUnit


class OrgUnitFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = OrgUnit
        fields = ["name", "sii_branch_code", "state"]


class BankAccountFilter(TenantFilterSet):
    bank_name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = BankAccount
        fields = ["bank_name", "account_type", "currency", "on_documents"]


class BillerFilter(TenantFilterSet):
    class Meta:
        model = Biller
        fields = ["backend", "environment", "status"]
