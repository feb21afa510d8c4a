from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from billing.api.filters import CharInFilter, CodeInFilter, TenantFilterSet, TenantIdFilter
from procurement.models import Purchase, PurchaseCreditNote, Retention, Supplier


class SupplierFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    email = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(field_name="country__code", lookup_expr="iexact")
    country__in = CodeInFilter(field_name="country_id", lookup_expr="in")
    # The day it was created (spec: the suppliers' filters).
    created = django_filters.DateFilter(method="created_on")

    class Meta:
        model = Supplier
        fields = ["name", "tax_id", "email", "country", "currency"]

    def created_on(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        """The day in the workspace's time zone, as every date bound is read (FilterBackend
        makes it the current one while filtering); bounds, not `__date`, whose time zone is
        the one current when the query is run."""
        zone = timezone.get_current_timezone()
        start = datetime.combine(value, time.min, tzinfo=zone)
        end = datetime.combine(value + timedelta(days=1), time.min, tzinfo=zone)
        return queryset.filter(created_at__gte=start, created_at__lt=end)


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
