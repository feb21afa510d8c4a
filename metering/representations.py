"""Output serializers of metering objects, shared by the API and event payloads."""

from decimal import Decimal

from rest_framework import serializers

from billing.representations import (
    StrictFieldsMixin,
    TenantModelSerializer,
    WorkspaceDateTimeField,
    quantity_field,
)
from metering.models import Feature, Meter, UsageRecord


class MeterFilterSerializer(StrictFieldsMixin, serializers.Serializer):
    key = serializers.CharField(max_length=64)
    values = serializers.ListField(
        child=serializers.CharField(max_length=255), min_length=1, max_length=100
    )


class MeterSerializer(TenantModelSerializer):
    """What to count: events named `event_name`, filtered by properties, aggregated."""

    filters = MeterFilterSerializer(many=True, required=False)

    class Meta:
        model = Meter
        fields = [
            "id", "name", "event_name", "aggregation", "field", "filters", "metadata",
            "test_mode", "created", "updated",
        ]  # fmt: skip
        extra_kwargs = {
            "field": {"help_text": "The property aggregated; required except for count."},
        }

    def validate_filters(self, value: list[dict]) -> list[dict]:
        if len(value) > 20:
            raise serializers.ValidationError("At most 20 filters.")
        keys = [f["key"] for f in value]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Each key at most once.")
        return [{"key": f["key"], "values": list(f["values"])} for f in value]


class FeatureSerializer(TenantModelSerializer):
    class Meta:
        model = Feature
        fields = [
            "id", "key", "name", "description", "feature_type", "meter", "metadata",
            "test_mode", "created", "updated",
        ]  # fmt: skip


class UsageRecordSerializer(TenantModelSerializer):
    quantity = quantity_field(min_value=Decimal(0), normalize_output=True)
    date_time = WorkspaceDateTimeField(
        required=False, help_text="When the usage happened; now when omitted."
    )

    class Meta:
        model = UsageRecord
        fields = [
            "id", "subscription_line", "subscription", "plan", "quantity", "date_time",
            "creation_scheme", "action", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["subscription", "plan"]
