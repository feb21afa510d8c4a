import django_filters

from billing.api.filters import CharInFilter, CodeInFilter, TenantFilterSet, TenantIdFilter
from customers.models import Contact, Customer
from organization.models import OrgUnit


class CustomerFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    email = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(field_name="country__code", lookup_expr="iexact")
    country__in = CodeInFilter(field_name="country_id", lookup_expr="in")
    currency = django_filters.CharFilter(field_name="currency_id", lookup_expr="iexact")
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = Customer
        fields = ["name", "email", "country", "tax_id", "reference", "status", "currency"]


class ContactFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    orgunit = TenantIdFilter(field_name="orgunit_id", model=OrgUnit)
    email = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Contact
        fields = ["customer", "email", "invoicing", "collections"]
