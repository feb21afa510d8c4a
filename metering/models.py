"""Metering: meters (what to count), features (what a plan sells), usage events (what
happened) and Piriod's usage records.

Events live in an append-only, month-partitioned PostgreSQL table written with raw SQL
(metering/store/postgres.py); `Event` maps it read-only for the admin. Their dedup keys
live in a table of their own (see the migration's docstring for why).
"""

from decimal import Decimal

from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field
from billing.json_fields import ListJSONField
from billing.models import TenantModel, quantity_field
from metering.choices import (
    EVENT_ID_MAX_LENGTH,
    EVENT_NAME_MAX_LENGTH,
    Aggregation,
    CreationScheme,
    FeatureType,
    UsageAction,
)


def tenant_list_index() -> models.Index:
    return models.Index(fields=["workspace", "test_mode", "-created_at"])


class Meter(TenantModel):
    id = public_id_field("met")
    name = models.CharField(max_length=64)
    event_name = models.CharField(max_length=EVENT_NAME_MAX_LENGTH)
    aggregation = models.CharField(max_length=16, choices=Aggregation.choices)
    # The property aggregated; empty for `count`.
    field = models.CharField(max_length=64, blank=True)
    # [{"key": "region", "values": ["us", "eu"]}, …]: an event counts when each key's
    # property is one of its values (a number by its value: metering.store.filter_texts).
    filters = ListJSONField(
        api_field="metering.representations.MeterSerializer.filters", blank=True
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_list_index()]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Feature(TenantModel):
    id = public_id_field("fea")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=1024, blank=True)
    feature_type = models.CharField(max_length=16, choices=FeatureType.choices)
    # Only metered features have one; a meter in use by a feature is not deleted.
    meter = models.ForeignKey(
        Meter, on_delete=models.PROTECT, related_name="features", null=True, blank=True
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_list_index()]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "key"], name="feature_key_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(feature_type=FeatureType.METERED, meter__isnull=False)
                | (~models.Q(feature_type=FeatureType.METERED) & models.Q(meter__isnull=True)),
                name="feature_meter_only_metered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.id})"


class Event(models.Model):
    """A usage event as stored (read-only: the table is written by the event store)."""

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(
        "billing.Workspace", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    test_mode = models.BooleanField()
    event_id = models.CharField(max_length=EVENT_ID_MAX_LENGTH)
    event_name = models.CharField(max_length=EVENT_NAME_MAX_LENGTH)
    # What the client sent as `customer`: our id or the customer's reference.
    customer_key = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    properties = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder)
    received_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "metering_event"
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"


class UsageRecord(TenantModel):
    """Piriod's usage record on a metered subscription line. It is also written to the
    event store (event_id = its id), so it is aggregated with the events."""

    id = public_id_field("usa")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.PROTECT, related_name="+"
    )
    # A subscription's lines are replaced when it changes; the record keeps its plan.
    subscription_line = models.ForeignKey(
        "subscriptions.SubscriptionLine",
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field()
    date_time = models.DateTimeField()
    creation_scheme = models.CharField(
        max_length=16, choices=CreationScheme.choices, default=CreationScheme.MANUAL
    )
    action = models.CharField(
        max_length=16, choices=UsageAction.choices, default=UsageAction.INCREMENT
    )

    class Meta(TenantModel.Meta):
        indexes = [tenant_list_index()]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=Decimal(0)), name="usage_record_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.quantity.normalize():f} at {self.date_time}"
