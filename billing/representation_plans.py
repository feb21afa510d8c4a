"""A detail read's representation from a plan made once per serializer class and thread.

DRF builds a serializer's bound fields on every instance and, for each field of each
object, walks `source_attrs` through a generic lookup that inspects whether the value is
callable. For an object that a detail GET shows, that is most of the request's cost. The
bound serializer (with its nested serializers) depends on its class alone
(billing.representations.FieldsBuiltOnceMixin), so it is built once per thread and kept;
its plan is the list of its readable fields as (name, getter, converter):

- the getter reads a plain attribute directly, and hands anything unusual (a callable,
  a missing attribute, a mapping) to the field's own `get_attribute`, which then does
  exactly what DRF does;
- the converter is the field's own `to_representation`, or the nested serializer's plan
  (a list of lines, one related object) when that serializer shows its fields as DRF's
  `Serializer.to_representation` does. A DecimalField's answer is kept per value: an
  invoice shows dozens of amounts, most of them the same few values, and DRF quantizes
  each one anew (`decimal_converter` says when it may).

What comes out equals `serializer_class(instance, context=context).data`. A serializer
class with a `to_representation` of its own is run as DRF runs it, on the kept fields.
An event's snapshot can be shown the same way (`planned_snapshot`), for a write whose
event is most of its cost.
"""

import datetime
import decimal
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeGuard

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models.manager import BaseManager
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

from billing.representations import TenantModelSerializer, expand_requested, json_data

Getter = Callable[[Any], Any]
Converter = Callable[[Any], Any]

# `to_representation`s that show each readable field and nothing else; the tenant one
# adds `?expand=`'s objects only to the object a response shows, never planned here.
_PLAIN_REPRESENTATIONS = (
    serializers.Serializer.to_representation,
    TenantModelSerializer.to_representation,
)


def shows_its_fields(serializer: Any) -> bool:
    return isinstance(serializer, serializers.Serializer) and (
        type(serializer).to_representation in _PLAIN_REPRESENTATIONS
    )


class RepresentationPlan:
    """How a bound serializer shows an object, field by field."""

    def __init__(self, serializer: serializers.Serializer) -> None:
        self.serializer = serializer
        self.steps: list[tuple[str, Getter, Converter]] = [
            (str(field.field_name), _getter(field), _converter(field))
            for field in serializer._readable_fields
        ]

    def render(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Mapping):
            # Read by key, not attribute: DRF's own way does it.
            data: dict[str, Any] = self.serializer.to_representation(instance)
            return data
        shown: dict[str, Any] = {}
        for name, get, convert in self.steps:
            try:
                attribute = get(instance)
            except SkipField:
                continue
            # As DRF: None is shown as is, a related object only by its id when it has one.
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            shown[name] = None if check is None else convert(attribute)
        return shown


def _getter(field: Field) -> Getter:
    if type(field).get_attribute is not Field.get_attribute or len(field.source_attrs) != 1:
        return field.get_attribute
    attr = field.source_attrs[0]
    slow = field.get_attribute

    def get(instance: Any) -> Any:
        try:
            value = getattr(instance, attr)
        except ObjectDoesNotExist:
            return None  # as DRF's lookup answers a missing related object
        except (AttributeError, KeyError):
            return slow(instance)  # a default, a skip, or DRF's own error
        if callable(value):
            return slow(instance)  # DRF calls some callables and refuses others
        return value

    return get


def _converter(field: Field) -> Converter:
    if (
        isinstance(field, serializers.ListSerializer)
        and type(field).to_representation is serializers.ListSerializer.to_representation
        and shows_its_fields(field.child)
    ):
        child = RepresentationPlan(field.child)  # type: ignore[arg-type]

        def convert_many(data: Any) -> list[dict[str, Any]]:
            rows = data.all() if isinstance(data, BaseManager) else data
            return [child.render(row) for row in rows]

        return convert_many
    if isinstance(field, serializers.BaseSerializer) and shows_its_fields(field):
        return RepresentationPlan(field).render  # type: ignore[arg-type]
    if _shows_as_decimal_field(field):
        return decimal_converter(field)
    if _shows_as_datetime_field(field):
        return ZonedDateTime(field)
    return _plain_converter(field)


def _shows_as_datetime_field(field: Field) -> TypeGuard[serializers.DateTimeField]:
    kind: Any = type(field)
    return isinstance(field, serializers.DateTimeField) and (
        kind.to_representation is serializers.DateTimeField.to_representation
        and kind.enforce_timezone is serializers.DateTimeField.enforce_timezone
        and kind.default_timezone is serializers.DateTimeField.default_timezone
    )


def current_zone() -> Any:
    """The zone a DateTimeField without one of its own shows a datetime in."""
    return timezone.get_current_timezone() if settings.USE_TZ else None


class ZonedDateTime:
    """A DateTimeField's `to_representation`, and (`shown`) its answer for a datetime given
    the current zone, which a representation asks for once: the field asks on every
    value, through asgiref's context-local storage, which costs more than showing it.
    An aware datetime shown in ISO 8601 is converted here as the field converts it;
    anything else takes the field's own way."""

    def __init__(self, field: serializers.DateTimeField) -> None:
        self.field = field
        self.to_representation = field.to_representation
        # A zone given to the field is the one it shows every value in.
        self.own_zone = hasattr(field, "timezone")

    def __call__(self, value: Any) -> Any:
        return self.to_representation(value)

    def shown(self, value: Any, zone: Any) -> Any:
        if self.own_zone:
            zone = self.field.timezone
        if zone is None or type(value) is not datetime.datetime or value.utcoffset() is None:
            return self.to_representation(value)
        output_format = getattr(self.field, "format", api_settings.DATETIME_FORMAT)
        if output_format is None or output_format.lower() != ISO_8601:
            return self.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return self.to_representation(value)  # DRF's own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text


def _shows_as_decimal_field(field: Field) -> TypeGuard[serializers.DecimalField]:
    """A DecimalField, or a subclass that reads its value its own way (the invoice's
    amount due) but shows it as DRF's DecimalField does."""
    if not isinstance(field, serializers.DecimalField):
        return False
    kind = type(field)
    return (
        kind.to_representation is serializers.DecimalField.to_representation
        and kind.quantize is serializers.DecimalField.quantize
    )


def _plain_converter(field: Field) -> Converter:
    """`field.to_representation`, or a shorter way to the same answer for the values a
    column holds: DRF's CharField answers `str(value)`, its BooleanField a bool as it is,
    its ChoiceField a plain text by its choice's value, and its PrimaryKeyRelatedField the
    related object's `pk`; any other value takes the field's own way."""
    convert = field.to_representation
    method = type(field).to_representation
    if method is serializers.CharField.to_representation:
        return str
    if method is serializers.BooleanField.to_representation:
        return lambda value: value if type(value) is bool else convert(value)
    if method is serializers.ChoiceField.to_representation:
        choice_field: Any = field

        def convert_choice(value: Any) -> Any:
            if type(value) is str and value:
                # Read per call: the field's choices may be set again.
                return choice_field.choice_strings_to_values.get(value, value)
            return convert(value)

        return convert_choice
    if (
        method is serializers.PrimaryKeyRelatedField.to_representation
        and getattr(field, "pk_field", None) is None
    ):
        return related_pk
    return convert


def related_pk(value: Any) -> Any:
    """A PrimaryKeyRelatedField's answer: the related object's `pk`."""
    return value.pk


# Answers a DecimalField keeps; beyond it they are dropped and found again.
KEPT_DECIMALS = 1024
_NOT_KEPT = object()


def decimal_converter(field: serializers.DecimalField) -> Converter:
    """`field.to_representation`, its answer for a Decimal kept under the value's text.

    The text (`str`) names the value exactly, sign and exponent included (`-0` apart from
    `0`, `1.50` apart from `1.5`); the key adds what else DRF reads each time (the
    context's precision and rounding, the string setting). It is the text, not the
    Decimal, because a Decimal read from the database computes its hash anew, which costs
    several times writing its text. What is not finite is not kept, nor a localized
    field's answer (it follows the request's language)."""
    convert = field.to_representation
    if field.decimal_places is None or field.localize:
        return convert
    explicit = getattr(field, "coerce_to_string", None)
    kept: dict[tuple[Any, ...], Any] = {}

    def convert_decimal(value: Any) -> Any:
        if type(value) is not Decimal or not value.is_finite():
            return convert(value)
        context = decimal.getcontext()
        coerce = api_settings.COERCE_DECIMAL_TO_STRING if explicit is None else explicit
        key = (str(value), context.prec, context.rounding, coerce)
        shown = kept.get(key, _NOT_KEPT)  # one lookup: hashing the key is most of it
        if shown is not _NOT_KEPT:
            return shown
        shown = convert(value)
        if len(kept) >= KEPT_DECIMALS:
            kept.clear()
        kept[key] = shown
        return shown

    return convert_decimal


_kept = threading.local()


def kept_plan(serializer_class: type[serializers.BaseSerializer]) -> RepresentationPlan | None:
    plans: dict[type, RepresentationPlan | None] = _kept.__dict__.setdefault("plans", {})
    if serializer_class not in plans:
        serializer = serializer_class(context={})
        plans[serializer_class] = (
            RepresentationPlan(serializer)
            if isinstance(serializer, serializers.Serializer)
            else None
        )
    return plans[serializer_class]


def planned_representation(
    serializer_class: type[serializers.BaseSerializer], instance: Any, context: Mapping[str, Any]
) -> dict[str, Any]:
    """`serializer_class(instance, context=context).data`, shown through the class's kept
    serializer and plan."""
    plan = kept_plan(serializer_class)
    if plan is None or expand_requested(context.get("request")):
        return dict(serializer_class(instance, context=context).data)
    root = plan.serializer
    root._context = context
    root.instance = instance
    try:
        if shows_its_fields(root):
            return plan.render(instance)
        data: dict[str, Any] = root.to_representation(instance)
        return data
    finally:
        # Nothing of this request stays on the kept serializer.
        root._context = {}
        root.instance = None


def planned_snapshot(
    serializer_class: type[serializers.BaseSerializer], instance: Any
) -> dict[str, Any]:
    """`billing.representations.snapshot(serializer_class, instance)`, shown through the
    class's kept serializer and plan."""
    return json_data(planned_representation(serializer_class, instance, {}))


def planned_list(
    serializer_class: type[serializers.BaseSerializer], rows: list[Any]
) -> list[dict[str, Any]]:
    """`list(serializer_class(rows, many=True).data)`, without a context, shown through
    the class's kept serializer and plan instead of serializers built for the rows."""
    plan = kept_plan(serializer_class)
    if plan is None or not shows_its_fields(plan.serializer):
        return list(serializer_class(rows, many=True).data)
    return [plan.render(row) for row in rows]
