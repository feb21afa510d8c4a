"""Reads compiled once and run again with other values: the detail GET of every resource.

Compiling a queryset to SQL costs more than running it: an invoice's representation reads
correlated sums and a JSON array of its payments, whose expressions are walked on every
compile. A detail read differs from the last one only in its values (the workspace, the
id), so `CompiledRead` keeps the SQL, the positions of those values among its parameters
and the compiler that knows how to turn its rows into objects, and runs the SQL again
with the new values. Reverse foreign key prefetches (an invoice's lines) are compiled the
same way; any other prefetch runs as Django runs it. A read's rows can be shown without
model instances (`FoundObject`, `RowLayout`, billing.row_plans).

Compiled reads are kept per thread (a compiler belongs to its thread's connection) and
per workspace: a queryset may carry a workspace's own values (its timezone, a setting)
as parameters, which must never answer another workspace's read. A queryset with a date
or time among its parameters (a clock reading) is not compiled: it would be frozen.
"""

import datetime
import hashlib
import itertools
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections
from django.db.models import JSONField, Model, Prefetch, QuerySet, prefetch_related_objects
from django.db.models.fields.json import KeyTransform
from django.db.models.fields.related_descriptors import ReverseManyToOneDescriptor
from django.db.models.query import get_related_populators
from django.db.utils import DatabaseErrorWrapper
from psycopg.pq import Escaping, TransactionStatus
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import Json, Jsonb

from billing.bulk import concrete_attnames, plain_instance


class NotCompilable(Exception):
    """The queryset's SQL does not show each slot's value as its own parameter."""


class CompiledRead:
    """`queryset` as SQL whose parameters equal to a slot's value (`slots`: name → the
    value it was built with) are replaced on each run."""

    def __init__(self, queryset: QuerySet, slots: dict[str, str]) -> None:
        bound = queryset._known_related_objects  # type: ignore[attr-defined]
        if bound or queryset.query.is_sliced:
            raise NotCompilable("a queryset bound to objects or sliced")
        self.db = queryset.db
        self.compiler = queryset.query.get_compiler(using=self.db)
        try:
            self.sql, params = self.compiler.as_sql()
        except EmptyResultSet as exc:
            raise NotCompilable("an empty result") from exc
        self.params = list(params)
        if any(isinstance(param, _CLOCK_VALUES) for param in self.params):
            raise NotCompilable("a date or time among the parameters (a clock reading)")
        self.positions: dict[str, list[int]] = {}
        claimed: set[int] = set()
        for name, value in slots.items():
            found = [i for i, param in enumerate(self.params) if _same(param, value)]
            if not found or claimed & set(found):
                raise NotCompilable(f"the value of {name!r} is not a parameter of its own")
            claimed.update(found)
            self.positions[name] = found
        klass_info = self.compiler.klass_info
        select = self.compiler.select
        fields = klass_info["select_fields"]
        self.model: type[Model] = klass_info["model"]
        self.model_columns = slice(fields[0], fields[-1] + 1)
        self.init_list = [column[0].target.attname for column in select[self.model_columns]]
        self.annotations = dict(self.compiler.annotation_col_map or {})
        # What turns each column's value into Python: found once, as the SQL is, since
        # finding them walks every selected expression again.
        columns = [column[0] for column in select[0 : self.compiler.col_count]]
        if self.compiler.has_composite_fields(columns):
            raise NotCompilable("a composite field among the columns")
        self.converters = self.compiler.get_converters(columns)
        self.row_converters = [
            (position, _row_converter(converters, expression, self.compiler.connection))
            for position, (converters, expression) in self.converters.items()
        ]
        self.populators: list[Any] | None = None

    def statement(self, values: dict[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and its parameters with `values` in the slots."""
        params = list(self.params)
        for name, positions in self.positions.items():
            for position in positions:
                params[position] = values[name]
        return self.sql, params

    def run(self, values: dict[str, Any]) -> list[Model]:
        return self.objects(self.converted(self.run_rows(values)))

    def run_rows(self, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        (rows,) = _run_together(self.db, [self.statement(values)])
        return rows

    def converted(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        """The rows the SQL returned, each value as its field reads it into Python."""
        if not self.row_converters:
            return rows
        converted = []
        for values in rows:
            row = list(values)
            for position, convert in self.row_converters:
                row[position] = convert(row[position])
            converted.append(row)
        return converted

    def columns(self) -> dict[str, int]:
        """Where each field's attname and each annotation is in a row."""
        start = self.model_columns.start
        return {
            **{attname: start + i for i, attname in enumerate(self.init_list)},
            **self.annotations,
        }

    def objects(self, converted: list[Any]) -> list[Model]:
        """The model instances of converted rows."""
        if self.populators is None:
            # Django 5.2's signature (the stubs describe a later one). A populator keeps
            # only where its columns are, so it serves every run of the same SQL.
            self.populators = get_related_populators(  # type: ignore[call-arg]
                self.compiler.klass_info, self.compiler.select, self.db
            )
        populators = self.populators
        objects = []
        # A complete row of a model whose columns are stored as is, and that loads rows as
        # Django does, is set straight into a new instance (billing.bulk.plain_instance):
        # Model.__init__ sets each column through its descriptor, the larger part of
        # making an invoice's instance.
        plain = (
            self.init_list == concrete_attnames(self.model)
            and self.model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
        )
        for row in converted:
            values = row[self.model_columns]
            obj = plain_instance(self.model, values) if plain else None
            if obj is None:
                obj = self.model.from_db(self.db, self.init_list, values)
            else:
                obj._state.adding, obj._state.db = False, self.db
            for populator in populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def _row_converter(
    converters: list[Callable[..., Any]], expression: Any, connection: Any
) -> Callable[[Any], Any]:
    """What Django's `apply_converters` does to a column's value, made once per column."""
    field = getattr(converters[0], "__self__", None)
    if (
        len(converters) == 1
        and isinstance(field, JSONField)
        and type(field).from_db_value is JSONField.from_db_value
        and not isinstance(expression, KeyTransform)
    ):
        return _json_converter(field, expression, connection)

    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, expression, connection)
        return value

    return convert


def _json_converter(field: JSONField, expression: Any, connection: Any) -> Callable[[Any], Any]:
    """`field.from_db_value` with one decoder for every value: `json.loads(cls=...)`
    builds its decoder anew on every call, which costs more than decoding an empty
    object."""
    decoder = (field.decoder or json.JSONDecoder)()

    def convert(value: Any) -> Any:
        if type(value) is not str:
            return field.from_db_value(value, expression, connection)
        if value.startswith("\ufeff"):
            return value  # refused by json.loads, and so shown as it is
        try:
            return decoder.decode(value)
        except json.JSONDecodeError:
            return value

    return convert


_CLOCK_VALUES = (datetime.date, datetime.time, datetime.timedelta)  # datetime is a date


def _same(param: Any, value: str) -> bool:
    return type(param) is str and param == value


class _ReverseForeignKeyPrefetch:
    """A prefetch of the rows of another model whose foreign key names the object."""

    def __init__(self, model: type[Model], lookup: str | Prefetch, sample: Model) -> None:
        name = lookup.prefetch_to if isinstance(lookup, Prefetch) else lookup
        queryset = lookup.queryset if isinstance(lookup, Prefetch) else None
        to_attr = lookup.to_attr if isinstance(lookup, Prefetch) else None
        descriptor = getattr(model, name, None)
        if "__" in name or to_attr or not isinstance(descriptor, ReverseManyToOneDescriptor):
            raise NotCompilable(f"{name} is not a reverse foreign key")
        self.field = descriptor.field
        if self.field.target_field != model._meta.pk:
            raise NotCompilable(f"{name} does not refer to the primary key")
        self.name = name
        self.lookup = lookup
        rows = queryset if queryset is not None else self.field.model._default_manager.all()
        self.nested = rows._prefetch_related_lookups  # type: ignore[attr-defined]
        rows = rows.prefetch_related(None).filter(**{self.field.attname: sample.pk})
        self.read = CompiledRead(rows, {"pk": sample.pk})

    def load(self, obj: Model, rows: list[Model]) -> None:
        for row in rows:
            self.field.set_cached_value(row, obj)
        if self.nested and rows:
            prefetch_related_objects(rows, *self.nested)
        manager = getattr(obj, self.name)
        loaded = (
            manager._apply_rel_filters(self.lookup.queryset)
            if isinstance(self.lookup, Prefetch) and self.lookup.queryset is not None
            else manager.get_queryset()
        )
        loaded._result_cache = rows
        loaded._prefetch_done = True
        if not hasattr(obj, "_prefetched_objects_cache"):
            obj._prefetched_objects_cache = {}  # type: ignore[attr-defined]
        cache_name = self.field.remote_field.cache_name
        obj._prefetched_objects_cache[cache_name] = loaded  # type: ignore[attr-defined]


class RowLayout:
    """Where a read's values are in its rows: `columns` maps each attname and
    annotation of `model` to its position; `children` each compiled prefetch's layout."""

    def __init__(
        self, model: type[Model], columns: dict[str, int], children: dict[str, "RowLayout"]
    ) -> None:
        self.model = model
        self.columns = columns
        self.children = children
        # A number for what the layout holds: a reader keeps its plans under it, and a
        # tuple of every column is hashed anew each time it is looked up.
        self.key: Hashable = _LAYOUT_KEYS.setdefault(
            (
                model,
                tuple(columns.items()),
                tuple((name, child.key) for name, child in children.items()),
            ),
            next(_LAYOUT_NUMBERS),
        )


# The layouts met so far, as many as the detail reads the code has; their numbers.
_LAYOUT_KEYS: dict[Hashable, int] = {}
_LAYOUT_NUMBERS = itertools.count()  # next() is atomic: threads never share a number


class FoundObject:
    """An object a compiled read found: its converted row, the converted rows of each
    compiled prefetch, and its model instance, built from them when asked for."""

    def __init__(self, read: "CompiledObjectRead", row: Any, prefetched: list[list[Any]]) -> None:
        self.read = read
        self.row = row
        self.prefetched = prefetched
        self._instance: Model | None = None
        self._own: Model | None = None

    def children(self) -> dict[str, list[Any]]:
        prefetches = self.read.prefetches or []
        return {p.name: rows for p, rows in zip(prefetches, self.prefetched, strict=True)}

    def own_instance(self) -> Model:
        """The model instance of the object's own row, its prefetches not loaded."""
        if self._own is None:
            self._own = self.read.read.objects([self.row])[0]
        return self._own

    def instance(self) -> Model:
        """The model instance with its prefetches loaded, as Django's read gives it."""
        if self._instance is None:
            assert self.read.prefetches is not None
            obj = self.read.read.objects([self.row])[0]
            rows = [
                p.read.objects(result)
                for p, result in zip(self.read.prefetches, self.prefetched, strict=True)
            ]
            self._instance = self.read._loaded(obj, rows)
        return self._instance


class CompiledObjectRead:
    """One object of `queryset` by its primary key, with the queryset's prefetches."""

    def __init__(self, queryset: QuerySet, slots: dict[str, str], sample_pk: str) -> None:
        if queryset.model._meta.pk.get_internal_type() != "CharField":
            raise NotCompilable("a primary key that is not text")
        self.read = CompiledRead(
            queryset.prefetch_related(None).filter(pk=sample_pk).order_by(),
            {**slots, "pk": sample_pk},
        )
        self.lookups = list(queryset._prefetch_related_lookups)  # type: ignore[attr-defined]
        self.prefetches: list[_ReverseForeignKeyPrefetch] | None = None
        # Made once the prefetches are compiled; False when there is none.
        self._layout: RowLayout | bool | None = None

    def get(self, values: dict[str, str]) -> Model | None:
        found = self.find(values)
        return None if found is None else found.instance()

    def find(self, values: dict[str, str]) -> "FoundObject | None":
        """The object's rows (its own and its prefetched ones), or None when none is found."""
        if self.prefetches is None:
            rows = self.read.converted(self.read.run_rows(values))
            if not rows:
                return None
            obj = self.read.objects(rows)[0]
            self.prefetches = self._compile_prefetches(obj)
            prefetched = [
                p.read.converted(p.read.run_rows({"pk": obj.pk})) for p in self.prefetches
            ]
            return FoundObject(self, rows[0], prefetched)
        statements = [self.read.statement(values)] + [
            prefetch.read.statement({"pk": values["pk"]}) for prefetch in self.prefetches
        ]
        results = _run_together(self.read.db, statements)
        if not results[0]:
            return None
        prefetched = [
            p.read.converted(result) for p, result in zip(self.prefetches, results[1:], strict=True)
        ]
        return FoundObject(self, self.read.converted(results[0])[0], prefetched)

    def layout(self) -> "RowLayout | None":
        """Where a found object's values are, for a reader of rows; None when some of
        what the queryset loads (a prefetch not compiled here, or one nested in a
        compiled one) is not among them."""
        if self.prefetches is None:
            return None
        if self._layout is None:
            self._layout = self._row_layout()
        return self._layout if isinstance(self._layout, RowLayout) else None

    def _row_layout(self) -> "RowLayout | bool":
        assert self.prefetches is not None
        if self._others() or any(prefetch.nested for prefetch in self.prefetches):
            return False
        return RowLayout(
            model=self.read.model,
            columns=self.read.columns(),
            children={
                prefetch.name: RowLayout(
                    model=prefetch.read.model, columns=prefetch.read.columns(), children={}
                )
                for prefetch in self.prefetches
            },
        )

    def _others(self) -> list[str | Prefetch]:
        handled = {id(prefetch.lookup) for prefetch in self.prefetches or ()}
        return [lookup for lookup in self.lookups if id(lookup) not in handled]

    def _loaded(self, obj: Model, prefetched: list[list[Model]]) -> Model:
        assert self.prefetches is not None
        for prefetch, rows in zip(self.prefetches, prefetched, strict=True):
            prefetch.load(obj, rows)
        others = self._others()
        if others:
            prefetch_related_objects([obj], *others)
        return obj

    def _compile_prefetches(self, obj: Model) -> list[_ReverseForeignKeyPrefetch]:
        compiled = []
        for lookup in self.lookups:
            try:
                compiled.append(_ReverseForeignKeyPrefetch(type(obj), lookup, obj))
            except NotCompilable:
                continue
        return compiled


def _run_together(db: str, statements: list[tuple[str, list[Any]]]) -> list[list[Any]]:
    """The rows of each statement, the read standing for the connection's health check.

    Django checks a reused connection with a query of its own (CONN_HEALTH_CHECKS) the
    first time a request uses it: a round trip before the read's. The read is the check
    instead: outside a transaction, a connection it finds broken is closed and the read
    runs once more on a new one, as it would have after a failed check."""
    connection: Any = connections[db]  # its health check attributes are not in the stubs
    checks = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if not checks:
        return _execute(db, statements)
    connection.health_check_done = True
    try:
        return _execute(db, statements)
    except DatabaseError:
        if connection.is_usable():
            raise
        connection.close()
        return _execute(db, statements)


def _execute(db: str, statements: list[tuple[str, list[Any]]]) -> list[list[Any]]:
    """The statements' rows; prepared forms made stale by a migration are made again.

    A prepared statement keeps the result types it was prepared with: once a migration
    changes a column it selects, PostgreSQL refuses to run it ("cached plan must not
    change result type") until it is prepared again. The session's prepared statements
    are then dropped and the read runs once more: outside a transaction, or as the first
    statement of one, whose failure is rolled back with nothing else lost."""
    connection = connections[db]
    first = _transaction_unstarted(connection)
    try:
        return _execute_once(db, statements)
    except DatabaseError as error:
        if not first or getattr(error.__cause__, "sqlstate", None) != STALE_PREPARED:
            raise
        _rolled_back(connection)
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
        _PREPARED_ON.pop(connection.connection, None)
        return _execute_once(db, statements)


# feature_not_supported: what PostgreSQL answers a prepared statement whose result
# types changed since it was prepared.
STALE_PREPARED = "0A000"


def _execute_once(db: str, statements: list[tuple[str, Any]]) -> list[list[Any]]:
    """PostgreSQL with parameters bound by the client (the default) runs the statements
    in one round trip, on the session's own cursor when Django's would only pass them
    through; otherwise they run one after the other."""
    connection = connections[db]
    together = connection.vendor == "postgresql" and not connection.settings_dict.get(
        "OPTIONS", {}
    ).get("server_side_binding")
    if together:
        cursor = _session_cursor(connection)
        if cursor is not None:
            return _run_statements(connection, cursor, statements, together)
    with connection.cursor() as django_cursor:
        return _run_statements(connection, django_cursor, statements, together)


def _run_statements(
    connection: Any, cursor: Any, statements: list[tuple[str, Any]], together: bool
) -> list[list[Any]]:
    if together:
        statements = _as_prepared(connection, cursor, statements)
    if not together or len(statements) == 1:
        results = []
        for sql, params in statements:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
        return results
    if all(params is None for _, params in statements):
        cursor.execute(";\n".join(sql for sql, _ in statements))
    else:
        cursor.execute(
            ";\n".join(
                sql.replace("%", "%%") if params is None else sql for sql, params in statements
            ),
            [param for _, params in statements for param in params or ()],
        )
    results = [cursor.fetchall()]
    while cursor.nextset():
        results.append(cursor.fetchall())
    if len(results) != len(statements):
        raise RuntimeError("a statement returned no rows set")
    return results


class _SessionCursor:
    """A psycopg cursor of the connection's session, kept with it, whose errors are
    raised as Django's (and mark the connection as Django's cursor would).

    Django's cursor for a read adds what a compiled read does not need: a new psycopg
    cursor per read, the wrapping of every method it hands out, and its timestamptz
    loader, a subclass of psycopg's written in Python that sets the connection's zone
    on each value. Where the session's zone is that zone, psycopg's own loader (in C)
    answers the same values; this cursor loads timestamps with it."""

    def __init__(self, connection: Any, session: Any) -> None:
        self.session = session
        self.cursor = session.cursor()
        self.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        # Django's error translation, reaching the connection weakly: the connection
        # keeps this cursor, and a reference back would make the two a cycle that
        # outlives the thread owning them, with its session open (a server starting a
        # thread per request ran PostgreSQL out of connections).
        self.errors = DatabaseErrorWrapper(weakref.proxy(connection))

    def execute(self, sql: str, params: Any = None) -> None:
        with self.errors:
            if params is None:
                self.cursor.execute(sql)
            else:
                self.cursor.execute(sql, params)

    def fetchall(self) -> list[Any]:
        with self.errors:
            rows: list[Any] = self.cursor.fetchall()
            return rows

    def nextset(self) -> bool | None:
        with self.errors:
            found: bool | None = self.cursor.nextset()
            return found

    def mogrify(self, sql: str, params: Any) -> str:
        text: str = self.cursor.mogrify(sql, params)
        return text


# The attribute of a Django connection that keeps its compiled reads' cursor: it goes
# when the connection goes.
_KEPT_CURSOR = "compiled_reads_cursor"


def _session_cursor(connection: Any) -> _SessionCursor | None:
    """The session's own cursor for a compiled read, after what Django's cursor checks;
    None where Django's is needed: its queries are logged or wrapped (a test counting
    them), or the session's zone is not the one Django sets on the values it loads."""
    if connection.queries_logged or connection.execute_wrappers:
        return None
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    session = connection.connection
    if session.info.timezone != connection.timezone:
        return None
    kept: _SessionCursor | None = getattr(connection, _KEPT_CURSOR, None)
    if kept is None or kept.session is not session or kept.cursor.closed:
        kept = _SessionCursor(connection, session)
        setattr(connection, _KEPT_CURSOR, kept)
    return kept


# PostgreSQL plans a detail read's statement anew on every run when its parameters are
# bound by the client: for an invoice (correlated sums, its payments as JSON) planning
# takes several times as long as running it. A statement compiled here is the same text
# on every run, so it is prepared once per database session and run with EXECUTE;
# PostgreSQL then keeps a generic plan after its first few runs. It is prepared outside a
# transaction, or before the first statement of one (a finalize's locked read): PREPARE
# is not undone by a rollback, so a failure there is rolled back with nothing lost. The
# names follow the text, so any thread's connection can reuse them; a session's prepared
# names are kept with its connection object.
_PREPARED_NAMES: dict[str, str | None] = {}
_PREPARED_ON: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()


def _prepared_name(sql: str, count: int) -> str | None:
    """The name of `sql` prepared, or None when its text cannot be (a literal `%`)."""
    if sql not in _PREPARED_NAMES:
        preparable = "%%" not in sql and sql.count("%s") == count
        digest = hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:20]
        _PREPARED_NAMES[sql] = f"compiled_read_{digest}" if preparable else None
    return _PREPARED_NAMES[sql]


def _numbered_placeholders(sql: str) -> str:
    """`%s` placeholders as PostgreSQL's `$1`, `$2`, ..."""
    parts = sql.split("%s")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


def _transaction_unstarted(connection: Any) -> bool:
    """Whether the session is outside a transaction or in one no statement has started
    yet (Django's outermost atomic block begins it with its first statement)."""
    session = connection.connection
    if session is None or connection.vendor != "postgresql":
        return not connection.in_atomic_block
    return session.info.transaction_status == TransactionStatus.IDLE


def _rolled_back(connection: Any) -> None:
    """Roll back the transaction a failed statement aborted, when that statement was the
    first of it: Django's atomic block goes on in a new one that the next statement begins."""
    session = connection.connection
    if connection.vendor != "postgresql" or session is None:
        return
    if session.info.transaction_status == TransactionStatus.INERROR:
        session.rollback()


def _as_prepared(
    connection: Any, cursor: Any, statements: list[tuple[str, list[Any]]]
) -> list[tuple[str, list[Any] | None]]:
    """The statements as EXECUTEs of their prepared forms, preparing those this session
    lacks when no transaction is open; a statement that cannot be prepared runs as it is.
    An EXECUTE whose arguments are written in its text has no parameters (None)."""
    session = connection.connection
    prepared = _PREPARED_ON.setdefault(session, set())
    # Judged once: the PREPAREs below start the transaction, and only they run in it.
    may_prepare = _transaction_unstarted(connection)
    rewritten: list[tuple[str, list[Any] | None]] = []
    for sql, params in statements:
        name = _prepared_name(sql, len(params))
        if name is not None and name not in prepared and may_prepare:
            try:
                cursor.execute(f"PREPARE {name} AS {_numbered_placeholders(sql)}")
            except DatabaseError:
                _rolled_back(connection)  # the PREPAREs were all its transaction held
                if not connection.is_usable():
                    raise
                _PREPARED_NAMES[sql] = None  # its parameters' types cannot be inferred
                name = None
            else:
                prepared.add(name)
        if name is None or name not in prepared:
            rewritten.append((sql, params))
            continue
        literals = _literals(session, cursor, params)
        if literals is None:
            rewritten.append((f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params))
        else:
            rewritten.append((f"EXECUTE {name}({', '.join(literals)})", None))
    return rewritten


def compiled_reads_run(reads: list[tuple[CompiledRead, dict[str, Any]]]) -> list[list[Model]]:
    """The objects of each compiled read run with its values, all in one round trip."""
    statements = [read.statement(values) for read, values in reads]
    results = _run_together(reads[0][0].db, statements)
    return [
        read.objects(read.converted(rows)) for (read, _), rows in zip(reads, results, strict=True)
    ]


# An EXECUTE's arguments written as SQL literals: psycopg then sends the text as it is,
# instead of parsing it for placeholders and adapting each parameter on every read. Text
# (the ids) is quoted by libpq for the session; any other value as psycopg writes it,
# kept per session: for the types whose value alone decides it, under the value; for a
# JSON wrapper (an empty list a read compares with), which cannot be hashed, under the
# object itself, which only a compiled read's own parameters are, never changed after
# the read is compiled.
_KEPT_LITERAL_TYPES = (bool, int, Decimal, str)
_KEPT_BY_IDENTITY = (Json, Jsonb)
# Literals kept per session; beyond it they are dropped and written again.
KEPT_LITERALS = 4096
_LITERALS_ON: "weakref.WeakKeyDictionary[Any, dict[tuple[type, Any], tuple[Any, str]]]" = (
    weakref.WeakKeyDictionary()
)


def _literals(session: Any, cursor: Any, params: list[Any]) -> list[str] | None:
    """`params` as SQL literals, or None when one of them is not written here."""
    kept = _LITERALS_ON.setdefault(session, {})
    escaping = Escaping(session.pgconn)
    encoding = session.info.encoding
    literals = []
    for param in params:
        if type(param) is str:
            if "\x00" in param:
                return None  # psycopg refuses it, as it should be refused
            literals.append(escaping.escape_literal(param.encode(encoding)).decode(encoding))
            continue
        key: tuple[type, Any]
        if isinstance(param, _KEPT_LITERAL_TYPES):
            key = (type(param), param if type(param) is not Decimal else str(param))
        elif isinstance(param, _KEPT_BY_IDENTITY):
            # The entry holds the object, so its id names no other object meanwhile.
            key = (type(param), id(param))
        else:
            return None
        entry = kept.get(key)
        if entry is None or (isinstance(param, _KEPT_BY_IDENTITY) and entry[0] is not param):
            if len(kept) >= KEPT_LITERALS:
                kept.clear()
            entry = kept[key] = (param, cursor.mogrify("%s", [param]))
        literals.append(entry[1])
    return literals


_compiled = threading.local()
# Reads kept per thread: enough for every detail route of the workspaces a process serves
# at once; the least recently used is dropped beyond it.
KEPT_READS = 512


def compiled_object_read(
    key: Hashable,
    build: Callable[[], tuple[QuerySet, dict[str, str]]],
    pk: str,
) -> CompiledObjectRead | None:
    """The compiled read kept under `key` in this thread, compiled from `build()` (the
    queryset and its slots, built for this request) the first time; None when the
    queryset cannot be compiled this way (and it will not be tried again)."""
    reads: OrderedDict[Hashable, CompiledObjectRead | None]
    reads = _compiled.__dict__.setdefault("reads", OrderedDict())
    if key in reads:
        reads.move_to_end(key)
        return reads[key]
    queryset, slots = build()
    try:
        reads[key] = CompiledObjectRead(queryset, slots, pk)
    except NotCompilable:
        reads[key] = None
    if len(reads) > KEPT_READS:
        reads.popitem(last=False)
    return reads[key]
