import django_filters
from django.db.models import QuerySet

from billing.api.filters import CharInFilter, TenantFilterSet, TenantIdFilter
from billing.clock import clock_now
from customers.models import Customer
from invoices.models import Invoice, Order
from payments.choices import PaymentLinkState
from payments.models import Intent, Payment, PaymentLink, Source
from payments.selectors import payment_links_in_state


class PaymentFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    invoice = TenantIdFilter(field_name="allocations__invoice_id", model=Invoice)
    source = TenantIdFilter(field_name="source_id", model=Source)
    status__in = CharInFilter(field_name="status", lookup_expr="in")
    date__gte = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date__lte = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    subscription = django_filters.CharFilter(field_name="subscription_id")

    class Meta:
        model = Payment
        fields = ["status", "currency", "date", "gateway"]


class SourceFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = Source
        fields = ["status", "usage", "gateway"]


class PaymentLinkFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    invoice = TenantIdFilter(field_name="invoice_id", model=Invoice)
    status = django_filters.ChoiceFilter(choices=PaymentLinkState.choices, method="filter_status")

    class Meta:
        model = PaymentLink
        fields = ["reusable"]

    def filter_status(
        self, queryset: QuerySet[PaymentLink], name: str, value: str
    ) -> QuerySet[PaymentLink]:
        now = clock_now(workspace=self.request.workspace, test_mode=self.request.test_mode)
        return payment_links_in_state(queryset, value, now)


class IntentFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    invoice = TenantIdFilter(field_name="invoice_id", model=Invoice)
    order = TenantIdFilter(field_name="order_id", model=Order)
    payment_link = TenantIdFilter(field_name="payment_link_id", model=PaymentLink)
    status__in = CharInFilter(field_name="status", lookup_expr="in")

    class Meta:
        model = Intent
        fields = ["status"]
