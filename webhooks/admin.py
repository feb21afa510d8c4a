from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from billing.admin_records import NoDeleteAdminMixin
from billing.admin_services import ServiceModelAdmin
from billing.clock import clock_now_for
from billing.errors import DomainError, InvalidInput
from webhooks import services
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceModelAdmin):
    """Saved through the endpoint services, as the API saves it: the URL and the events
    are checked, and turning `active` off or on is the API's disable (which records
    `webhook_endpoint.disabled`) or enable (which resets the failures and sends what
    waited). Secrets are never shown here; rotate one through the API to get a new
    value."""

    list_display = ["id", "url", "active", "consecutive_failures", "workspace", "test_mode"]
    list_filter = ["active", "test_mode", "workspace"]
    search_fields = ["id", "url", "description"]
    exclude = ["secret", "previous_secrets"]
    service_fields = services.EndpointFields.__annotations__

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API, which issues and shows the secret once

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [name for name in super().get_readonly_fields(request, obj) if name != "active"]

    def service_update(self, obj: WebhookEndpoint, fields: Any) -> WebhookEndpoint:
        # `active` among the fields: the service enables or disables as the actions do.
        return services.endpoint_update(endpoint=obj, now=clock_now_for(obj), **fields)

    def service_delete(self, obj: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=obj)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "attempted_at",
        "status_code",
        "duration_ms",
        "error",
        "response_body",
    ]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
    ]
    list_filter = ["status", "endpoint__workspace"]
    search_fields = ["id", "event__id", "object_id", "endpoint__url"]
    # Written by the delivery worker and the redeliver action only (enqueued_at is the
    # dispatcher's claim): nothing is edited by hand.
    readonly_fields = [field.name for field in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Redeliver now")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset.select_related("event", "endpoint"):
            try:
                services.event_redeliver(
                    event=delivery.event, endpoint=delivery.endpoint, now=timezone.now()
                )
            except DomainError as exc:
                self.message_user(request, f"{delivery.id}: {exc.detail}", messages.ERROR)
            except InvalidInput as exc:
                for problems in exc.errors.values():
                    self.message_user(
                        request, f"{delivery.id}: {' '.join(problems)}", messages.ERROR
                    )
