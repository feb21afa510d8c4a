"""Meters and features: create, change, delete. A meter a plan or feature uses is not
deleted (409), and its event name and aggregation stay as they are once a plan bills by
it: changing them would change what past periods count."""

from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

from django.db import transaction

from billing.db import unique_taken
from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from catalog.models import Plan
from metering.choices import FIELD_AGGREGATIONS, FeatureType
from metering.models import Feature, Meter
from metering.services.usage import RESERVED_EVENT_NAME, is_reserved_event_name


class MeterFields(TypedDict, total=False):
    """What a meter's create or update may set (MeterSerializer's writable fields)."""

    name: str
    event_name: str
    aggregation: str
    field: str
    filters: list[dict[str, Any]]
    metadata: dict[str, Any]


class FeatureFields(TypedDict, total=False):
    """What a feature's create or update may set (FeatureSerializer's writable fields)."""

    key: str
    name: str
    description: str
    feature_type: str
    meter: Meter | None
    metadata: dict[str, Any]


# Fields that decide what a meter counts; `field` only for an aggregation that reads it.
_COUNTING_FIELDS = ("event_name", "aggregation", "field", "filters")


def _counting_fields(*aggregations: str) -> tuple[str, ...]:
    """The fields deciding what a meter with any of `aggregations` counts: `count` reads
    no property, so a counting meter's `field` may change without changing its totals."""
    if any(aggregation in FIELD_AGGREGATIONS for aggregation in aggregations):
        return _COUNTING_FIELDS
    return tuple(name for name in _COUNTING_FIELDS if name != "field")


def _counted(name: str, value: Any) -> object:
    """A counting field's value as it decides what the meter counts: filters match an
    event when each key's property is one of its values, so neither order matters."""
    if name == "filters":
        return {f["key"]: frozenset(f["values"]) for f in value}
    return value


def _meter_validate(meter: Meter) -> None:
    if is_reserved_event_name(meter.event_name):
        raise InvalidInput({"event_name": [RESERVED_EVENT_NAME]})
    if meter.aggregation in FIELD_AGGREGATIONS and not meter.field:
        raise InvalidInput({"field": [f"Required: {meter.aggregation} aggregates a property."]})


def _plans_using(meter: Meter) -> bool:
    return Plan.objects.filter(
        workspace_id=meter.workspace_id, test_mode=meter.test_mode, meter_id=meter.pk
    ).exists()


@transaction.atomic
def meter_create(*, workspace: Workspace, test_mode: bool, **fields: Unpack[MeterFields]) -> Meter:
    meter = Meter(workspace=workspace, test_mode=test_mode, **fields)
    _meter_validate(meter)
    meter.save()
    return meter


@transaction.atomic
def meter_update(*, meter: Meter, **fields: Unpack[MeterFields]) -> Meter:
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    given: Mapping[str, object] = fields
    aggregations = (meter.aggregation, str(given.get("aggregation", meter.aggregation)))
    changed = {
        name
        for name in _counting_fields(*aggregations)
        if name in given and _counted(name, getattr(meter, name)) != _counted(name, given[name])
    }
    if changed and _plans_using(meter):
        raise DomainError(
            "meter_in_use",
            f"Meter {meter.pk} prices a plan: {', '.join(sorted(changed))} cannot change. "
            "Create a new meter and point the plan at it.",
        )
    for name, value in fields.items():
        setattr(meter, name, value)
    _meter_validate(meter)
    meter.save()
    return meter


@transaction.atomic
def meter_delete(*, meter: Meter) -> None:
    # Locked before its plans are read: a plan being pointed at it holds the lock too
    # (meter_aggregation) and commits first, or finds no meter once this commits.
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    if _plans_using(meter) or meter.features.exists():
        raise DomainError(
            "meter_in_use",
            f"Meter {meter.pk} is used by a plan or a feature; remove it from them first.",
        )
    meter.delete()


def _feature_validate(feature: Feature) -> None:
    meter = feature.meter
    # The API only finds the caller's meters; the back office can name any.
    if meter is not None and (meter.workspace_id, meter.test_mode) != (
        feature.workspace_id,
        feature.test_mode,
    ):
        raise InvalidInput({"meter": [f"No meter {meter.pk}."]})
    if feature.feature_type == FeatureType.METERED and feature.meter_id is None:
        raise InvalidInput({"meter": ["A metered feature needs a meter."]})
    if feature.feature_type != FeatureType.METERED and feature.meter_id is not None:
        raise InvalidInput({"meter": ["Only metered features have a meter."]})
    if _duplicate_key(feature):
        raise InvalidInput({"key": [unique_taken(Feature, "key")]})


def _duplicate_key(feature: Feature) -> bool:
    # A concurrent create may pass this look too: the unique constraint then decides,
    # answered with the same field error (billing.db.unique_field_errors).
    return (
        Feature.objects.filter(
            workspace_id=feature.workspace_id, test_mode=feature.test_mode, key=feature.key
        )
        .exclude(pk=feature.pk)
        .exists()
    )


@transaction.atomic
def feature_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[FeatureFields]
) -> Feature:
    feature = Feature(workspace=workspace, test_mode=test_mode, **fields)
    _feature_validate(feature)
    feature.save()
    return feature


@transaction.atomic
def feature_update(*, feature: Feature, **fields: Unpack[FeatureFields]) -> Feature:
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    for name, value in fields.items():
        setattr(feature, name, value)
    _feature_validate(feature)
    feature.save()
    return feature


@transaction.atomic
def feature_delete(*, feature: Feature) -> None:
    feature.delete()
