from django.db.models import Prefetch, QuerySet

from billing.models import Event
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint


def endpoint_queryset() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.all()


def event_log_queryset() -> QuerySet[Event]:
    """Events with their deliveries and attempts, in a fixed number of queries."""
    deliveries = Delivery.objects.order_by("created_at", "id").prefetch_related(
        Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
    )
    return Event.objects.prefetch_related(Prefetch("deliveries", queryset=deliveries))
