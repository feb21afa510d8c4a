import django_filters

from billing.api.filters import CharInFilter, CodeInFilter, TenantFilterSet, TenantIdFilter
from procurement.models import Purchase, PurchaseCreditNote, Retention, Supplier


class SupplierFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    email = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(field_name="country__code", lookup_expr="iexact")
    country__in = CodeInFilter(field_name="country_id", lookup_expr="in")
    # The day it was created, in UTC as `created` shows it (spec: the suppliers' filters).
    created = django_filters.DateFilter(field_name="created_at", lookup_expr="date")

    class Meta:
        model = Supplier
        fields = ["name", "tax_id", "email", "country", "currency"]


class SupplierDocumentFilter(TenantFilterSet):
    supplier = TenantIdFilter(field_name="supplier_id", model=Supplier)
    status__in = CharInFilter(field_name="status", lookup_expr="in")
    date__gte = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date__lte = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    total__gte = django_filters.NumberFilter(field_name="total", lookup_expr="gte")
    total__lte = django_filters.NumberFilter(field_name="total", lookup_expr="lte")


class PurchaseFilter(SupplierDocumentFilter):
    class Meta:
        model = Purchase
        fields = ["status", "document", "number", "biller_status", "date", "imported"]


class PurchaseCreditNoteFilter(SupplierDocumentFilter):
    purchase = TenantIdFilter(field_name="purchase_id", model=Purchase)

    class Meta:
        model = PurchaseCreditNote
        fields = ["status", "document", "number", "reason", "biller_status", "date"]


class RetentionFilter(SupplierDocumentFilter):
    purchase = TenantIdFilter(field_name="purchase_id", model=Purchase)
    # A retention's `total` is the net paid to the supplier (stored as total_adjusted).
    total = django_filters.NumberFilter(field_name="total_adjusted")
    total__gte = django_filters.NumberFilter(field_name="total_adjusted", lookup_expr="gte")
    total__lte = django_filters.NumberFilter(field_name="total_adjusted", lookup_expr="lte")

    class Meta:
        model = Retention
        fields = ["status", "document", "number", "biller_status", "date"]
