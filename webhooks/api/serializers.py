from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Event
from billing.representations import StrictFieldsMixin, TenantModelSerializer, TenantRelatedField
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint


class WebhookEndpointSerializer(TenantModelSerializer):
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), allow_empty=False, max_length=100
    )
    failing = serializers.BooleanField(read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "active",
            "disabled_reason",
            "consecutive_failures",
            "failing",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        # `active` is written too: false disables the endpoint, true enables it again.
        read_only_fields = ["disabled_reason", "consecutive_failures"]


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    """Returned only when a secret is issued: at creation and by rotate_secret."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "attempted_at", "status_code", "duration_ms", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.CharField(source="endpoint_id", read_only=True)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "attempt_log",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EventLogSerializer(serializers.ModelSerializer):
    created = serializers.DateTimeField(source="created_at", read_only=True)
    deliveries = DeliverySerializer(many=True, read_only=True)
    # DRF's metaclass moves declared fields off the class, so `data` stays the property.
    data = serializers.SerializerMethodField()  # type: ignore[assignment]

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "object_id",
            "sequence",
            "data",
            "test_mode",
            "created",
            "published_at",
            "deliveries",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_data(self, event: Event) -> Any:
        return event.data


class RedeliverSerializer(StrictFieldsMixin, serializers.Serializer):
    endpoint = TenantRelatedField(queryset=WebhookEndpoint.objects.all(), required=False)
