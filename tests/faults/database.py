"""Faults PostgreSQL itself raises: a write refused by the database (a full disk, a
failing extension) reaches the code as the driver's error, through every layer above it,
with nothing of ours replaced."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.models import Model

# What the database answers: PostgreSQL's own message and SQLSTATE.
DISK_FULL = ("could not extend file: No space left on device", "disk_full")
CHECK_VIOLATION = ("new row violates check constraint", "check_violation")


@contextmanager
def failing_inserts(
    model: type[Model], *, column: str, value: str, fault: tuple[str, str] = DISK_FULL
) -> Iterator[None]:
    """Inserts of `model` rows whose `column` is `value` fail in the database with
    `fault` (a full disk unless told); other rows are written as usual. Dropped on exit
    (and rolled back with the test's transaction)."""
    table = connection.ops.quote_name(model._meta.db_table)
    message, state = fault
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION fault_failing_insert() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = '{state}'; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER fault_failing_insert BEFORE INSERT ON {table} FOR EACH ROW "
            f"WHEN (NEW.{connection.ops.quote_name(column)} = {_literal(value)}) "
            "EXECUTE FUNCTION fault_failing_insert()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS fault_failing_insert ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS fault_failing_insert()")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
