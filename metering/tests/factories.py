"""Factories of the metering app's models."""

import datetime
from decimal import Decimal

import factory

from billing.tests.factories import TenantFactory
from metering.models import Event as UsageEvent
from metering.models import Feature, Meter, UsageRecord
from subscriptions.tests.factories import SubscriptionFactory


class MeterFactory(TenantFactory):
    class Meta:
        model = Meter

    name = factory.Sequence(lambda n: f"Meter {n}")
    event_name = "api_call"
    aggregation = "sum"
    field = "tokens"


class FeatureFactory(TenantFactory):
    class Meta:
        model = Feature

    key = factory.Sequence(lambda n: f"feature_{n}")
    name = factory.Sequence(lambda n: f"Feature {n}")
    feature_type = "metered"
    meter = factory.SubFactory(
        MeterFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )


class UsageEventFactory(TenantFactory):
    """A stored usage event (the table the event store writes; read-only in the API)."""

    class Meta:
        model = UsageEvent

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    event_name = "api_call"
    customer_key = "cus_unknown"
    timestamp = factory.LazyFunction(
        lambda: datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    )
    properties = factory.LazyFunction(lambda: {"tokens": 1})
    received_at = factory.SelfAttribute("timestamp")


class UsageRecordFactory(TenantFactory):
    """A usage record on the metered line of a subscription of its own."""

    class Meta:
        model = UsageRecord

    subscription = factory.SubFactory(
        SubscriptionFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    subscription_line = factory.LazyAttribute(lambda record: record.subscription.lines.first())
    plan = factory.LazyAttribute(lambda record: record.subscription_line.plan)
    quantity = Decimal(3)
    date_time = factory.LazyFunction(
        lambda: datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    )


FACTORIES: dict[type, type[TenantFactory]] = {
    Meter: MeterFactory,
    Feature: FeatureFactory,
    UsageEvent: UsageEventFactory,
    UsageRecord: UsageRecordFactory,
}
