from django.db import models


class Aggregation(models.TextChoices):
    """How a meter turns a window's events into one number."""

    COUNT = "count"  # how many events
    SUM = "sum"  # the sum of `field`
    MAX = "max"  # the largest `field`
    UNIQUE_COUNT = "unique_count"  # how many distinct values of `field`
    LATEST = "latest"  # `field` of the latest event (ties: the greatest event_id)


# Aggregations that read a property; `count` reads none.
FIELD_AGGREGATIONS = {
    Aggregation.SUM,
    Aggregation.MAX,
    Aggregation.UNIQUE_COUNT,
    Aggregation.LATEST,
}


class FeatureType(models.TextChoices):
    METERED = "metered"  # usage counted by a meter
    BOOLEAN = "boolean"  # on or off
    STATIC = "static"  # a fixed value (e.g. "5 seats")


class EventOutcome(models.TextChoices):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # its event_id was seen before: accepted, counted once
    REJECTED = "rejected"


class CreationScheme(models.TextChoices):
    """Who recorded a Piriod usage record."""

    MANUAL = "manual"
    AUTOMATIC = "automatic"


class UsageAction(models.TextChoices):
    """What a usage record does to its line's usage in the period."""

    INCREMENT = "increment"  # adds its quantity
    SET = "set"  # the usage becomes its quantity from its date_time; later increments add


class GroupBy(models.TextChoices):
    DAY = "day"
    PROPERTY = "property"


# Input bounds.
EVENTS_PER_BULK = 1000
EVENT_ID_MAX_LENGTH = 255
EVENT_NAME_MAX_LENGTH = 255
CUSTOMER_KEY_MAX_LENGTH = 64
FILTERS_PER_METER = 20
FILTER_VALUES_MAX = 100
