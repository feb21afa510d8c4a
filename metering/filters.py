import django_filters

from billing.api.filters import CharInFilter, TenantFilterSet, TenantIdFilter
from metering.models import Feature, Meter, UsageRecord
from subscriptions.models import Subscription, SubscriptionLine


class MeterFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    aggregation__in = CharInFilter(field_name="aggregation", lookup_expr="in")

    class Meta:
        model = Meter
        fields = ["name", "event_name", "aggregation"]


class FeatureFilter(TenantFilterSet):
    meter = TenantIdFilter(field_name="meter_id", model=Meter)

    class Meta:
        model = Feature
        fields = ["key", "feature_type", "meter"]


class UsageRecordFilter(TenantFilterSet):
    subscription = TenantIdFilter(field_name="subscription_id", model=Subscription)
    subscription_line = TenantIdFilter(
        field_name="subscription_line_id", model=SubscriptionLine, tenant="subscription__"
    )

    class Meta:
        model = UsageRecord
        fields = {
            "subscription": ["exact"], "subscription_line": ["exact"],
            "creation_scheme": ["exact"], "date_time": ["gte", "gt", "lte", "lt"],
        }  # fmt: skip
