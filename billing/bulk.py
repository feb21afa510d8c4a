"""Inserting many rows fast: PostgreSQL's COPY, for batch writers (billing cycles).

`bulk_create` spends most of a large insert in Python, building and quoting one
parameter per column and row; COPY streams the rows through psycopg's C dumpers. The
objects must be complete (ULID ids are set at instantiation); an auto-increment key is
assigned by the database and not read back. Other databases get `bulk_create`.

`copy_rows` takes plain tuples instead of model instances, for writers that never build
the instances (a cycle writes thousands of rows that nothing reads back in memory).
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils import timezone

from billing.encoders import json_text


def _reader(field: models.Field) -> Callable[[models.Model], object]:
    attname = field.attname
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda obj: json_text(getattr(obj, attname), encoder)
    if isinstance(field, models.FileField):
        return lambda obj: getattr(obj, attname).name or ""
    return lambda obj: getattr(obj, attname)


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    with (
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
    readers = [_reader(field) for field in fields]
    _copy(
        model._meta.db_table,
        [str(field.column) for field in fields],
        ([read(obj) for read in readers] for obj in objects),
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
    kind = "bigint" if all(isinstance(key, int) for key in keys) else "text"
    return RawSQL(f"SELECT unnest(%s::{kind}[])", [keys])


class Blank:
    """New instances of one model from their columns, for batch writers that make
    thousands: `Model(**kwargs)` looks up every field's default and sets related objects
    through their descriptors, which costs more than pricing the row. Constant defaults
    are read once; a callable default (an id, a fresh dict) is called per instance; the
    values are handed to Model.__init__ by position, its fast path."""

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
        values = {**self.constant, **{name: make() for name, make in self.called}, **columns}
        for name, obj in (related or {}).items():
            values[f"{name}_id"] = obj.pk
        instance = self.model(*(values[name] for name in self.order))
        for name, obj in (related or {}).items():
            cast(models.ForeignKey, self.model._meta.get_field(name)).set_cached_value(
                instance, obj
            )
        return instance
