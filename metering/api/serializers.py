"""Input serializers of the metering API (outputs are in metering/representations.py).

Events are validated by metering.services.events in plain code, not here; the event
serializers below only document the shapes in OpenAPI."""

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from billing.representations import IdRelatedField, StrictFieldsMixin, WorkspaceDateTimeField
from metering.choices import EVENTS_PER_BULK, EventOutcome, GroupBy
from metering.representations import UsageRecordSerializer
from subscriptions.models import SubscriptionLine


class EventSerializer(serializers.Serializer):
    event_id = serializers.CharField(
        max_length=255, help_text="Your unique id of the event: sent twice, counted once."
    )
    event_name = serializers.CharField(max_length=255)
    customer = serializers.CharField(
        max_length=64, help_text="Our customer id (cus_…) or the customer's reference."
    )
    timestamp = WorkspaceDateTimeField(
        required=False,
        help_text="ISO 8601, in the workspace's time without an offset; now when omitted.",
    )
    properties = serializers.DictField(required=False)


class EventBulkSerializer(serializers.Serializer):
    events = EventSerializer(many=True, help_text=f"At most {EVENTS_PER_BULK}.")


class EventResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The event's position in the request.")
    event_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=EventOutcome.choices)
    reason = serializers.CharField(help_text="Why it was rejected; empty otherwise.")
    customer_found = serializers.BooleanField(
        help_text="False: no customer has this id or reference yet; the event counts once one does."
    )
    late = serializers.BooleanField(
        help_text="Its period is already invoiced: stored, but billed invoices do not change."
    )


class EventIngestSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    late = serializers.IntegerField()
    unknown_customers = serializers.ListField(child=serializers.CharField())
    results = EventResultSerializer(many=True)


class UsageQuerySerializer(StrictFieldsMixin, serializers.Serializer):
    customer = serializers.CharField(max_length=64, help_text="Customer id or reference.")
    start = WorkspaceDateTimeField()
    end = WorkspaceDateTimeField()
    group_by = serializers.ChoiceField(choices=GroupBy.choices, required=False, allow_null=True)
    property = serializers.CharField(
        max_length=64, required=False, help_text="The property to group by (group_by=property)."
    )


class EventsUsageQuerySerializer(UsageQuerySerializer):
    meter = serializers.CharField(max_length=40, help_text="The meter (met_…).")


class UsageGroupSerializer(serializers.Serializer):
    group = serializers.CharField(allow_null=True, help_text="The day or the property's value.")
    value = serializers.DecimalField(max_digits=40, decimal_places=12, normalize_output=True)


class UsageSerializer(serializers.Serializer):
    meter = serializers.CharField(source="meter.pk")
    customer = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    aggregation = serializers.CharField(source="meter.aggregation")
    value = serializers.DecimalField(max_digits=40, decimal_places=12, normalize_output=True)
    groups = UsageGroupSerializer(many=True)


class SubscriptionLineField(IdRelatedField):
    """A subscription line by its id, among the caller's subscriptions."""

    def get_queryset(self) -> QuerySet:
        request: Any = self.context.get("request")
        workspace = getattr(request, "workspace", None)
        if workspace is None:
            return SubscriptionLine.objects.none()
        return SubscriptionLine.objects.select_related("plan").filter(
            subscription__workspace=workspace, subscription__test_mode=request.test_mode
        )


class UsageRecordCreateSerializer(UsageRecordSerializer):
    subscription_line = SubscriptionLineField(
        help_text="The metered line (its `id` in the subscription's `lines`)."
    )
