"""Inserting many rows fast: PostgreSQL's COPY, for batch writers (billing cycles).

`bulk_create` spends most of a large insert in Python, building and quoting one
parameter per column and row; COPY streams the rows through psycopg's C dumpers. The
objects must be complete (ULID ids are set at instantiation); an auto-increment key is
assigned by the database and not read back. Other databases get `bulk_create`.

`copy_rows` takes plain tuples instead of model instances, for writers that never build
the instances (a cycle writes thousands of rows that nothing reads back in memory).
"""

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from operator import attrgetter
from typing import Any, cast

from django.db import connection, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.fields.files import FileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone

from billing.encoders import json_text


def _converter(field: models.Field) -> Callable[[Any], object] | None:
    """How an attribute's value becomes its column's, when it is not the value itself."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda value: json_text(value, encoder)
    if isinstance(field, models.FileField):
        return lambda value: value.name or ""
    return None


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    # COPY runs on psycopg's own cursor, which Django does not wrap: its errors are made
    # Django's here, so a refused row is an IntegrityError (a 409 in the API) as from any
    # other query, not a psycopg error that no mapping knows (a 500).
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def bulk_insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert `objects`, stamping `auto_now` and `auto_now_add` columns as `save` does."""
    if not objects:
        return
    pk = model._meta.pk
    # An auto-increment key is left to the database (and not read back).
    generated = isinstance(pk, models.AutoField) and getattr(objects[0], pk.attname) is None
    fields = [f for f in model._meta.concrete_fields if not (generated and f is pk)]
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objects:
                setattr(obj, field.attname, now)
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects)
        return
    # Every attribute in one C call, then the few columns that need converting.
    read = attrgetter(*(field.attname for field in fields))
    converters = [(i, c) for i, field in enumerate(fields) if (c := _converter(field))]

    def row(obj: models.Model) -> list[object]:
        values = list(read(obj)) if len(fields) > 1 else [read(obj)]
        for index, convert in converters:
            values[index] = convert(values[index])
        return values

    _copy(
        model._meta.db_table,
        [str(field.column) for field in fields],
        (row(obj) for obj in objects),
    )
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert plain rows of `model`: values in the order of `columns` (attnames), JSON
    columns as Python values. Columns left out take no Django default: the caller names
    every column the table needs (`auto_now` stamps included)."""
    if not rows:
        return
    fields = [cast(models.Field, model._meta.get_field(name)) for name in columns]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            model(**dict(zip(columns, row, strict=True))) for row in rows
        )
        return
    json_at = [
        (index, field.encoder)
        for index, field in enumerate(fields)
        if isinstance(field, models.JSONField)
    ]
    if json_at:
        encoded = [list(row) for row in rows]
        for row in encoded:
            for index, encoder in json_at:
                row[index] = json_text(row[index], encoder)
        rows = encoded
    _copy(model._meta.db_table, [str(field.column) for field in fields], rows)


def any_of(values: Iterable[str | int]) -> Any:
    """For `field__in=`: many keys as one array parameter (`IN (SELECT unnest(…))`) on
    PostgreSQL, where a list compiles one parameter per key, which a batch of thousands
    pays on every query. Keys are all text or all integers."""
    keys = list(values)
    if not keys or connection.vendor != "postgresql":
        return keys  # no keys: Django answers without a query
    sql, param = key_array(keys)
    return RawSQL(f"SELECT unnest({sql})", [param])


def key_array(keys: Sequence[str | int]) -> tuple[str, Any]:
    """PostgreSQL's array of these keys (all text or all integers, at least one), as SQL
    and its one parameter: the keys joined by commas, split by the database, when no key
    is empty or holds a comma. psycopg writes a list parameter element by element in
    Python, then quotes it, which costs a batch's 500 keys some twenty times the join."""
    if all(isinstance(key, int) for key in keys):
        return "string_to_array(%s, ',')::bigint[]", ",".join(map(str, keys))
    joined = ",".join(cast(Sequence[str], keys))
    if "" not in keys and joined.count(",") == len(keys) - 1:
        return "string_to_array(%s, ',')", joined
    return "%s::text[]", list(keys)


# Attributes that, on an instance nothing is cached on yet, keep what is set as is.
_STORING_AS_IS = {DeferredAttribute, ForeignKeyDeferredAttribute, FileDescriptor}


@cache
def concrete_attnames(model: type[models.Model]) -> list[str]:
    """The attnames of the model's concrete fields, in the order of its rows."""
    return [field.attname for field in model._meta.concrete_fields]


@cache
def stores_as_is(model: type[models.Model]) -> bool:
    """Model.__init__ sets each column through its class attribute; when every one of
    them keeps the value as is on an instance nothing is cached on yet, the columns can
    go straight into the instance's dict."""
    return all(
        type(getattr(model, name, None)) in _STORING_AS_IS for name in concrete_attnames(model)
    )


def _unwatched(model: type[models.Model]) -> bool:
    # No receiver at all, the usual case, is answered without asking for this model's.
    if not (signals.pre_init.receivers or signals.post_init.receivers):
        return True
    return not (signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model))


def plain_instance(model: Any, values: Iterable[object]) -> Any:
    """An instance of `model` with `values`, in the order of its concrete fields, as
    `model(*values)` makes it, or None when the model needs its constructor (a column's
    attribute does more than store, or something listens to its instances being made)."""
    if not (stores_as_is(model) and _unwatched(model)):
        return None
    instance = object.__new__(model)
    instance._state = ModelState()
    instance.__dict__.update(zip(concrete_attnames(model), values, strict=True))
    return instance


class Blank:
    """New instances of one model from their columns, for batch writers that make
    thousands: `Model(**kwargs)` looks up every field's default and sets related objects
    through their descriptors, which costs more than pricing the row. Constant defaults
    are read once; a callable default (an id, a fresh dict) is called per instance; the
    values go in as `plain_instance` puts them, or to Model.__init__ by position."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        made = [f for f in self.fields if f.has_default() and callable(f.default)]
        self.constant = {f.attname: f.get_default() for f in self.fields if f not in made}
        self.called = [(f.attname, f.default) for f in made]
        self.order = [f.attname for f in self.fields]

    def make(self, related: dict[str, models.Model] | None = None, **columns: Any) -> Any:
        """An unsaved instance with `columns` (attnames) set and the rest at their
        defaults; `related` objects (by field name) are cached on it, their keys set."""
        values = {**self.constant, **columns}
        for name, make in self.called:
            if name not in columns:  # an id made in bulk is not made again
                values[name] = make()
        for name, obj in (related or {}).items():
            values[f"{name}_id"] = obj.pk
        ordered = [values[name] for name in self.order]
        instance = plain_instance(self.model, ordered) or self.model(*ordered)
        for name, obj in (related or {}).items():
            cast(models.ForeignKey, self.model._meta.get_field(name)).set_cached_value(
                instance, obj
            )
        return instance


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a batch: a batch makes tens of thousands
    of objects that all live until it ends, and the collector would walk them (and, on a
    full collection, every object of the process) again and again, finding nothing (about a
    quarter of bench/cycle.py's own CPU). What the batch leaves is collected after it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
