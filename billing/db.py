import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import psycopg
from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Field, JSONField, Model, UniqueConstraint
from psycopg.types.json import Jsonb

from billing.compiled_reads import _run_together
from billing.encoders import json_text

P = ParamSpec("P")
R = TypeVar("R")


def relax_commit_durability() -> None:
    """Let the current transaction commit without waiting for its WAL flush.

    Only for bookkeeping that may be lost in a database crash without harm (the work is
    redone, e.g. a webhook is sent once more): it saves an fsync per commit. A no-op
    outside PostgreSQL.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# Set while an API request's transaction runs its handler (billing.api.viewsets): any
# error there rolls the request back whole, or to the request's own savepoint, so the
# services it calls need no savepoint of their own (two round trips each).
_IN_REQUEST_TRANSACTION: ContextVar[bool] = ContextVar("in_request_transaction", default=False)


@contextmanager
def request_transaction() -> Iterator[None]:
    """Mark the handler of a request whose transaction is discarded on any error."""
    token = _IN_REQUEST_TRANSACTION.set(True)
    try:
        yield
    finally:
        _IN_REQUEST_TRANSACTION.reset(token)


def in_request_transaction() -> bool:
    """Whether an API request's transaction is open around the caller."""
    return _IN_REQUEST_TRANSACTION.get()


def service_atomic(func: Callable[P, R]) -> Callable[P, R]:
    """`transaction.atomic` for a service: its own savepoint when its caller may recover
    from its errors (another service, a worker, a test), none inside a request's
    transaction, which nothing continues after an error."""

    @functools.wraps(func)
    def atomic_call(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(savepoint=not _IN_REQUEST_TRANSACTION.get()):
            return func(*args, **kwargs)

    return atomic_call


def recoverable_atomic() -> transaction.Atomic:
    """A savepoint to recover from an expected error (a unique violation) in, unless the
    error ends the request anyway."""
    return transaction.atomic(savepoint=not _IN_REQUEST_TRANSACTION.get())


def server_bound_cursor() -> CursorWrapper:
    """A cursor that sends its parameters apart from the SQL (PostgreSQL's extended
    protocol), for a statement with a large parameter (a batch of events as JSON): bound
    by the client, as Django's cursors do, the value is escaped in Python and then read
    back by the server's SQL parser, character by character. Logged like any other
    query. The default connection's ordinary cursor anywhere else."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    # What `connection.cursor()` does first: a reused connection found broken is replaced.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    return wrapper(cursor, connection)


def column_value(field: Field, value: Any, connection: BaseDatabaseWrapper) -> Any:
    """`field.get_db_prep_save(value, connection)` for a statement written by hand, a JSON
    column's text written by orjson (`json_text`), as the batch writers write the same
    columns (billing.bulk). Django writes it with `json.dumps(cls=JSONEncoder)`, whose
    number literals need the standard library's pure-Python encoder: for an event's
    snapshot of an invoice, twenty times as long."""
    prepared = field.get_db_prep_save(value, connection)
    if isinstance(field, JSONField) and isinstance(prepared, Jsonb):
        encoder = field.encoder
        return Jsonb(prepared.obj, dumps=lambda obj: json_text(obj, encoder))
    return prepared


def prepared_results(statements: list[tuple[str, list[Any]]]) -> list[list[tuple[Any, ...]]]:
    """The rows of each statement, run on the default connection in one round trip, each
    as a statement prepared once per database session, as the compiled reads are
    (billing.compiled_reads): for statements of fixed text run on every request, which
    PostgreSQL would otherwise plan on every run. Prepared only outside a transaction or
    before its first statement; run as they are until then. Each statement reads what
    was committed when it starts, as if sent alone (read committed)."""
    return _run_together(DEFAULT_DB_ALIAS, statements)


_TENANT_FIELDS = ("workspace", "test_mode")


def unique_taken(model: type[Model], field: str) -> str:
    """What a value of a tenant's unique key that another object holds is answered."""
    noun = str(model._meta.verbose_name)
    article = "An" if noun[:1] in "aeiou" else "A"
    label = getattr(model._meta.get_field(field), "verbose_name", field)
    return f"{article} {noun} with this {label} exists."


def unique_field_errors(exc: IntegrityError) -> dict[str, list[str]] | None:
    """The field error a violated unique key of a tenant's objects means (a constraint
    on workspace, mode and one field: a feature's key, a customer's reference), or None
    for any other violation. A service looks first; this answers the create or change
    that raced another with the same value past that look."""
    cause = exc.__cause__
    if not isinstance(cause, psycopg.errors.UniqueViolation):
        return None
    name = cause.diag.constraint_name
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if constraint.name != name or not isinstance(constraint, UniqueConstraint):
                continue
            fields = tuple(constraint.fields)
            if len(fields) == 3 and fields[:2] == _TENANT_FIELDS:
                return {fields[2]: [unique_taken(model, fields[2])]}
            return None
    return None
