"""Inserting many rows fast: PostgreSQL's COPY, for batch writers (billing cycles).

`bulk_create` spends most of a large insert in Python, building and quoting one
parameter per column and row; COPY streams the rows through psycopg's C dumpers. The
objects must be complete (ULID ids are set at instantiation); an auto-increment key is
assigned by the database and not read back. Other databases get `bulk_create`.
"""

import json
from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone


def _value(field: models.Field, obj: models.Model) -> object:
    value = getattr(obj, field.attname)
    if isinstance(field, models.JSONField):
        return json.dumps(value, cls=field.encoder)
    if isinstance(field, models.FileField):
        return value.name or ""
    return value


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
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objects:
            copy.write_row([_value(field, obj) for field in fields])
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias
