import django_filters

from billing.api.filters import CharInFilter, TenantFilterSet
from billing.models import Event
from webhooks.models import WebhookEndpoint


class WebhookEndpointFilter(TenantFilterSet):
    class Meta:
        model = WebhookEndpoint
        fields = ["active", "url"]


class EventLogFilter(TenantFilterSet):
    type__in = CharInFilter(field_name="type", lookup_expr="in")
    object_id = django_filters.CharFilter()

    class Meta:
        model = Event
        fields = ["type", "object_id"]
