"""A detail read's representation from the rows its compiled read returned.

A representation plan (billing.representation_plans) reads each field off a model
instance. Building the instances of an object and its prefetched rows (an invoice and its
lines), and reading dozens of attributes through their descriptors, costs more than the
rest of the plan. Most fields show a column as it is: a `RowPlan` reads those by their
position in the row (and a related object's id by its foreign key's column), with the
converter the plan made for the field, and shows a prefetched list from the prefetch's
rows. What comes out equals the plan's representation of the instance.

A field that needs the instance (a method, `source="*"`, its own `get_attribute`) is read
off the object's own model instance, built without its prefetched rows: only when the
field is marked as reading nothing else (`reads_own_row`). A serializer with any other
such field, or whose nested lists are not rows of a compiled prefetch, has no row plan.
"""

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from rest_framework import serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject, RelatedField

from billing.compiled_reads import FoundObject, RowLayout
from billing.representation_plans import (
    RepresentationPlan,
    ZonedDateTime,
    current_zone,
    kept_plan,
    related_pk,
    shows_its_fields,
)
from billing.representations import expand_requested

Reader = TypeVar("Reader", bound=Callable[..., Any])


def reads_own_row(reader: Reader) -> Reader:
    """Mark a field class, or a serializer's `get_<field>` method, as reading nothing of
    the instance but its own row (its columns, annotations and select_related objects):
    never a prefetched relation, never another query."""
    reader.reads_own_row = True  # type: ignore[attr-defined]
    return reader


def _reads_own_row(field: Field) -> bool:
    if isinstance(field, serializers.SerializerMethodField):
        method = getattr(field.parent, field.method_name or "", None)
        return getattr(method, "reads_own_row", False)
    return getattr(type(field), "reads_own_row", False)


# A step reads the row at a position (ROW, or ZONED for a datetime shown in the current
# zone), a prefetch's rows (ROWS) or the instance.
ROW, ZONED, ROWS, INSTANCE = "row", "zoned", "rows", "instance"
# The current zone not asked for yet.
_UNASKED = object()


class _NoRowPlan(Exception):
    pass


class RowPlan:
    """A plan's steps as reads of the rows of `layout`."""

    def __init__(self, plan: RepresentationPlan, layout: RowLayout) -> None:
        self.steps: list[tuple[str, str, Any, Callable[..., Any]]] = []
        self.needs_instance = False
        fields = {str(field.field_name): field for field in plan.serializer._readable_fields}
        for name, get, convert in plan.steps:
            step = _row_step(fields[name], layout, convert)
            if step is None:
                if not _reads_own_row(fields[name]):
                    raise _NoRowPlan(name)
                self.needs_instance = True
                step = (INSTANCE, get, convert)
            self.steps.append((name, *step))

    def render(self, row: Any, children: Mapping[str, list[Any]], instance: Any) -> dict:
        shown: dict[str, Any] = {}
        zone: Any = _UNASKED
        for name, kind, read, convert in self.steps:
            if kind == ROW:
                value = row[read]
                shown[name] = None if value is None else convert(value)
            elif kind == ZONED:
                value = row[read]
                if value is None:
                    shown[name] = None
                    continue
                if zone is _UNASKED:
                    zone = current_zone()
                shown[name] = convert(value, zone)
            elif kind == ROWS:
                shown[name] = read(children[name])
            else:
                try:
                    attribute = read(instance)
                except SkipField:
                    continue
                check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
                shown[name] = None if check is None else convert(attribute)
        return shown


def _row_step(field: Field, layout: RowLayout, convert: Callable[[Any], Any]) -> Any:
    """(kind, position or reader, converter) of a field read from rows, or None."""
    if len(field.source_attrs) != 1:
        return None
    attr = field.source_attrs[0]
    get_attribute = type(field).get_attribute
    if isinstance(field, RelatedField) and field.use_pk_only_optimization():
        # DRF shows the related object by its id: the foreign key's column.
        if get_attribute is not RelatedField.get_attribute:
            return None
        try:
            attname = layout.model._meta.get_field(attr).attname  # type: ignore[union-attr]
        except (FieldDoesNotExist, AttributeError):
            return None
        if not _shown_as_stored(layout, attname):
            return None
        if convert is related_pk:
            return (ROW, layout.columns[attname], _as_is)  # the id is the column's value
        return (ROW, layout.columns[attname], lambda pk: convert(PKOnlyObject(pk=pk)))
    if get_attribute not in (Field.get_attribute, RelatedField.get_attribute):
        return None
    if _shown_as_stored(layout, attr):
        if isinstance(convert, ZonedDateTime):
            return (ZONED, layout.columns[attr], convert.shown)
        return (ROW, layout.columns[attr], convert)
    if attr in layout.children and isinstance(field, serializers.ListSerializer):
        return _rows_step(field, layout.children[attr])
    return None


def _as_is(value: Any) -> Any:
    return value


# Descriptors that answer a column's value as the row holds it (a file field's answers a
# FieldFile, made from it).
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _shown_as_stored(layout: RowLayout, name: str) -> bool:
    """Whether reading `name` off an instance answers the row's value at its position."""
    if name not in layout.columns:
        return False
    descriptor = _class_attribute(layout.model, name)
    # An annotation is set on the instance as it is; a field's attname has a descriptor.
    return descriptor is None or type(descriptor) in _PLAIN_DESCRIPTORS


def _class_attribute(model: type[Model], name: str) -> Any:
    for klass in model.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _rows_step(field: serializers.ListSerializer, layout: RowLayout) -> Any:
    if type(field).to_representation is not serializers.ListSerializer.to_representation:
        return None
    if not shows_its_fields(field.child):
        return None
    try:
        child = RowPlan(RepresentationPlan(field.child), layout)  # type: ignore[arg-type]
    except _NoRowPlan:
        return None
    if child.needs_instance:
        return None
    render = child.render
    empty: dict[str, list[Any]] = {}

    def convert_rows(rows: list[Any]) -> list[dict[str, Any]]:
        return [render(row, empty, None) for row in rows]

    return (ROWS, convert_rows, convert_rows)


_kept = threading.local()


def _row_plan(
    serializer_class: type[serializers.BaseSerializer], layout: RowLayout
) -> RowPlan | None:
    plans: dict[Any, RowPlan | None] = _kept.__dict__.setdefault("plans", {})
    key = (serializer_class, layout.key)
    if key not in plans:
        plan = kept_plan(serializer_class)
        try:
            plans[key] = (
                RowPlan(plan, layout)
                if plan is not None and shows_its_fields(plan.serializer)
                else None
            )
        except _NoRowPlan:
            plans[key] = None
    return plans[key]


def row_representation(
    serializer_class: type[serializers.BaseSerializer],
    found: FoundObject,
    context: Mapping[str, Any],
) -> dict[str, Any] | None:
    """`serializer_class(found.instance(), context=context).data` read from the found
    rows, or None when the class has no row plan for them."""
    layout = found.read.layout()
    if layout is None or expand_requested(context.get("request")):
        return None
    plan = _row_plan(serializer_class, layout)
    if plan is None:
        return None
    instance = found.own_instance() if plan.needs_instance else None
    kept = kept_plan(serializer_class)
    assert kept is not None
    root = kept.serializer
    root._context = context
    root.instance = instance
    try:
        return plan.render(found.row, found.children(), instance)
    finally:
        # Nothing of this request stays on the kept serializer.
        root._context = {}
        root.instance = None
