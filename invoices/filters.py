import django_filters

from billing.api.filters import CharInFilter, TenantFilterSet, TenantIdFilter
from customers.models import Customer
from invoices.choices import ReferenceReason
from invoices.models import CreditNote, DebitNote, Invoice, Order


class InvoiceFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    status__in = CharInFilter(field_name="status", lookup_expr="in")
    date__gte = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date__lte = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    due_date__gte = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_date__lte = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    total__gte = django_filters.NumberFilter(field_name="total", lookup_expr="gte")
    total__lte = django_filters.NumberFilter(field_name="total", lookup_expr="lte")
    subscription = django_filters.CharFilter(field_name="subscription_id")

    class Meta:
        model = Invoice
        fields = ["status", "document", "number", "biller_status", "currency", "date"]


class NoteFilter(TenantFilterSet):
    invoice = TenantIdFilter(field_name="invoice_id", model=Invoice)
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    status__in = CharInFilter(field_name="status", lookup_expr="in")
    # The column is a plain integer: its CodRef values are named here, as a status's are.
    reason = django_filters.TypedChoiceFilter(choices=ReferenceReason.choices, coerce=int)
    date__gte = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date__lte = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    total__gte = django_filters.NumberFilter(field_name="total", lookup_expr="gte")
    total__lte = django_filters.NumberFilter(field_name="total", lookup_expr="lte")

    class Meta:
        fields = ["status", "document", "number", "reason", "biller_status", "currency", "date"]


class CreditNoteFilter(NoteFilter):
    class Meta(NoteFilter.Meta):
        model = CreditNote


class DebitNoteFilter(NoteFilter):
    class Meta(NoteFilter.Meta):
        model = DebitNote


class OrderFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    invoice = TenantIdFilter(field_name="invoice_id", model=Invoice)
    status__in = CharInFilter(field_name="status", lookup_expr="in")
    date__gte = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date__lte = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    total__gte = django_filters.NumberFilter(field_name="total", lookup_expr="gte")
    total__lte = django_filters.NumberFilter(field_name="total", lookup_expr="lte")

    class Meta:
        model = Order
        fields = ["status", "currency", "document", "date"]
