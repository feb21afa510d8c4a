import django_filters

from billing.api.filters import CharInFilter, TenantFilterSet
from metering.models import Feature, Meter, UsageRecord


class MeterFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    aggregation__in = CharInFilter(field_name="aggregation", lookup_expr="in")

    class Meta:
        model = Meter
        fields = ["name", "event_name", "aggregation"]


class FeatureFilter(TenantFilterSet):
    meter = django_filters.CharFilter(field_name="meter_id")

    class Meta:
        model = Feature
        fields = ["key", "feature_type", "meter"]


class UsageRecordFilter(TenantFilterSet):
    subscription = django_filters.CharFilter(field_name="subscription_id")
    date_time__gte = django_filters.IsoDateTimeFilter(field_name="date_time", lookup_expr="gte")
    date_time__lt = django_filters.IsoDateTimeFilter(field_name="date_time", lookup_expr="lt")

    class Meta:
        model = UsageRecord
        fields = ["subscription", "subscription_line", "creation_scheme"]
