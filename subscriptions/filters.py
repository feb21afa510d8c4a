import django_filters
from django.db.models import QuerySet

from billing.api.filters import BooleanFilter, CharInFilter, TenantFilterSet, TenantIdFilter
from catalog.models import Coupon, Plan
from customers.models import Customer
from organization.models import OrgUnit
from subscriptions.models import Subscription


class SubscriptionFilter(TenantFilterSet):
    customer = TenantIdFilter(field_name="customer_id", model=Customer)
    # A subscription to a plan has it on one of its lines.
    plan = TenantIdFilter(field_name="lines__plan_id", model=Plan, distinct=True)
    coupon = TenantIdFilter(field_name="coupon_id", model=Coupon)
    orgunit = TenantIdFilter(field_name="orgunit_id", model=OrgUnit)
    status__in = CharInFilter(field_name="status", lookup_expr="in")
    needs_attention = BooleanFilter(method="filter_needs_attention")
    next_billing = django_filters.DateFilter(field_name="next_billing")
    next_billing__gte = django_filters.DateFilter(field_name="next_billing", lookup_expr="gte")
    next_billing__lte = django_filters.DateFilter(field_name="next_billing", lookup_expr="lte")
    date_start__gte = django_filters.DateFilter(field_name="date_start", lookup_expr="gte")
    date_start__lte = django_filters.DateFilter(field_name="date_start", lookup_expr="lte")
    previous_billing__gte = django_filters.DateFilter(
        field_name="previous_billing", lookup_expr="gte"
    )
    previous_billing__lte = django_filters.DateFilter(
        field_name="previous_billing", lookup_expr="lte"
    )
    trial_end__gte = django_filters.DateFilter(field_name="trial_end", lookup_expr="gte")
    trial_end__lte = django_filters.DateFilter(field_name="trial_end", lookup_expr="lte")
    cancel_at_period_end = BooleanFilter(field_name="cancel_at_period_end")

    class Meta:
        model = Subscription
        fields = [
            "customer", "status", "collection_scheme", "frequency", "needs_attention_reason",
            "document", "date_start",
        ]  # fmt: skip

    def filter_needs_attention(
        self, queryset: QuerySet[Subscription], name: str, value: bool
    ) -> QuerySet[Subscription]:
        if value:
            return queryset.filter(status="needs_attention")
        return queryset.exclude(status="needs_attention")
