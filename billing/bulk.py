"""Inserting many rows fast: PostgreSQL's COPY, for batch writers (billing cycles).

`bulk_create` spends most of a large insert in Python, building and quoting one
parameter per column and row; COPY streams the rows through psycopg's C dumpers. The
objects must be complete (ULID ids are set at instantiation); an auto-increment key is
assigned by the database and not read back. Other databases get `bulk_create`.

`copy_rows` takes plain tuples instead of model instances, for writers that never build
the instances (a cycle writes thousands of rows that nothing reads back in memory).
"""

import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

import orjson
from django.db import connection, models
from django.utils import timezone

from billing.encoders import decimal_literal

_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def json_column_text(value: Any, encoder: type[json.JSONEncoder] | None) -> str:
    """What `json.dumps(value, cls=encoder)` gives a jsonb column, written by orjson:
    Decimals as their literals, everything orjson passes over (dates, datetimes) by the
    column's encoder. jsonb keeps the value, not the text, so spacing does not matter."""
    fallback = (encoder or json.JSONEncoder)()

    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return orjson.Fragment(decimal_literal(o).encode())
        return fallback.default(o)

    try:
        return orjson.dumps(value, default=default, option=_JSON_OPTIONS).decode()
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
    return json.dumps(value, cls=encoder)  # an integer beyond 64 bits


def _reader(field: models.Field) -> Callable[[models.Model], object]:
    attname = field.attname
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda obj: json_column_text(getattr(obj, attname), encoder)
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
                row[index] = json_column_text(row[index], encoder)
        rows = encoded
    _copy(model._meta.db_table, [str(field.column) for field in fields], rows)
