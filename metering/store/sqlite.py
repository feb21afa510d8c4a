"""The SQLite event store, for the zero-configuration setup (`make run` without
DATABASE_URL): the same answers as the PostgreSQL store, not its speed.

The tables are migration 0002's, unpartitioned. SQLite has one writer at a time, so a
batch needs no protocol against another: its keys go in with ON CONFLICT DO NOTHING,
RETURNING the ones that were new, then their events. Timestamps are stored as UTC text
(timestamp_text). SQLite has no exact decimal and no
time zones: reading a property as `->>` does, its number, the decimal aggregates and
the local day are functions registered on the connection, which the queries call; the
events are still read and aggregated by the query, never loaded here. The queries are
metering.store.sql's, shared with the PostgreSQL store: `SqliteDialect` holds what is
SQLite's own in them.
"""

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.db import connection

from metering.store.base import NewEvent, Tenant, distinct_text, property_text
from metering.store.postgres import json_number
from metering.store.sql import Dialect, SqlEventStore


def timestamp_text(value: datetime) -> str:
    """An instant as Django writes a DateTimeField on SQLite (naive UTC, the fraction
    left out when zero), so the admin's filters compare with what is stored. Text order
    is time order: where two texts differ only by a fraction, the shorter is the smaller."""
    return str(value.astimezone(UTC).replace(tzinfo=None))


@lru_cache(maxsize=256)
def _properties(text: str) -> dict[str, Any]:
    # One event's properties are read by several functions of the same row.
    return json.loads(text, parse_float=Decimal)


def _text(properties: str, key: str) -> str | None:
    return property_text(_properties(properties).get(key))


def _distinct(properties: str, key: str) -> str | None:
    return distinct_text(_properties(properties).get(key))


# A string holding a plain decimal counts as a number, as the PostgreSQL store's pattern
# reads it (its \s: these six).
_DECIMAL = re.compile(r"[ \t\n\r\f\v]*-?[0-9]+(\.[0-9]+)?[ \t\n\r\f\v]*")


def _number(properties: str, key: str) -> str | None:
    value = _properties(properties).get(key)
    if type(value) is int or isinstance(value, Decimal | float):
        return property_text(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return str(Decimal(value.strip(" \t\n\r\f\v")))
    return None


def _local_day(timestamp: str, zone: str) -> str:
    instant = datetime.fromisoformat(timestamp).replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")


# Sums with every digit, as PostgreSQL's numeric: the default context rounds to 28.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class _Sum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            self.total = _EXACT.add(Decimal(value), self.total or 0)

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


class _Max(_Sum):
    def step(self, value: str | None) -> None:
        if value is not None and (self.total is None or Decimal(value) > self.total):
            self.total = Decimal(value)


class _Latest:
    """The number of the last event by (timestamp, event_id) among those holding one."""

    def __init__(self) -> None:
        self.last: tuple[str, str, str] | None = None

    def step(self, value: str | None, timestamp: str, event_id: str) -> None:
        if value is not None and (self.last is None or (timestamp, event_id) > self.last[:2]):
            self.last = (timestamp, event_id, value)

    def finalize(self) -> str | None:
        return None if self.last is None else self.last[2]


def _decimal_order(a: str, b: str) -> int:
    return (Decimal(a) > Decimal(b)) - (Decimal(a) < Decimal(b))


def _register(raw: sqlite3.Connection) -> None:
    raw.create_collation("ev_decimal", _decimal_order)
    raw.create_function("ev_text", 2, _text, deterministic=True)
    raw.create_function("ev_number", 2, _number, deterministic=True)
    raw.create_function("ev_distinct", 2, _distinct, deterministic=True)
    raw.create_function("ev_local_day", 2, _local_day, deterministic=True)
    # typeshed expects a step of one argument: ev_latest takes three.
    raw.create_aggregate("ev_sum", 1, _Sum)  # type: ignore[arg-type]
    raw.create_aggregate("ev_max", 1, _Max)  # type: ignore[arg-type]
    raw.create_aggregate("ev_latest", 3, _Latest)  # type: ignore[arg-type]


class SqliteDialect(Dialect):
    """SQLite's own in metering.store.sql's queries: the functions registered above, JSON
    text for a list of values, and `?` for each of the builder's `%s`."""

    # NULLs last, as PostgreSQL orders them.
    null_group = "NULL"
    order_groups = "grp IS NULL, grp"
    number = "ev_number(e.properties, %s)"
    sum_function = "ev_sum"
    max_function = "ev_max"
    day = "ev_local_day(e.timestamp, %s)"
    # The values are decimals as text: ordered as numbers by the collation.
    top_order = "CAST(value AS TEXT) COLLATE ev_decimal DESC, e.customer_key"

    def __init__(self, cursor: Callable[[], sqlite3.Cursor]) -> None:
        self.cursor = cursor

    def text(self, alias: str) -> str:
        return f"ev_text({alias}.properties, %s)"

    def distinct(self, alias: str) -> str:
        return f"ev_distinct({alias}.properties, %s)"

    def latest(self, number: str) -> str:
        return f"ev_latest({number}, e.timestamp, e.event_id)"

    def one_of(self, expression: str) -> str:
        return f"{expression} IN (SELECT value FROM json_each(%s))"

    def values(self, values: Sequence[str]) -> str:
        return json.dumps(list(values))

    def instant(self, value: datetime) -> str:
        return timestamp_text(value)

    def windows(self, rows: Sequence[tuple[str, str, datetime, datetime]]) -> tuple[str, list[Any]]:
        table = (
            "SELECT value ->> 0 AS key, value ->> 1 AS customer_key, "
            "value ->> 2 AS start_at, value ->> 3 AS end_at FROM json_each(%s)"
        )
        windows = [
            [key, customer, timestamp_text(start), timestamp_text(end)]
            for key, customer, start, end in rows
        ]
        return table, [json.dumps(windows)]

    def last_of(self, key: str, source: str) -> str:
        name = key.rpartition(".")[2]
        return (
            f"SELECT {name}, timestamp, event_id FROM (SELECT {key}, s.timestamp, s.event_id, "
            f"row_number() OVER (PARTITION BY {key} ORDER BY s.timestamp DESC, s.event_id DESC) "
            f"AS n {source}) WHERE n = 1"
        )

    def run(self, sql: str, params: Sequence[Any]) -> tuple[list[tuple[Any, ...]], int]:
        cursor = self.cursor()
        cursor.execute(sql.replace("%s", "?"), params)
        return cursor.fetchall(), cursor.rowcount


def _django_raw() -> sqlite3.Connection:
    connection.ensure_connection()
    return connection.connection


class SqliteEventStore(SqlEventStore):
    """`raw` gives the sqlite3 connection to work in: Django's own by default, so a batch
    is written in the request's transaction."""

    def __init__(self, raw: Callable[[], sqlite3.Connection] = _django_raw) -> None:
        self.raw = raw
        self.dialect = SqliteDialect(self._cursor)

    def _cursor(self) -> sqlite3.Cursor:
        raw = self.raw()
        _register(raw)
        return raw.cursor()

    def insert(
        self, *, tenant: Tenant, events: Sequence[NewEvent], received_at: datetime
    ) -> set[str]:
        if not events:
            return set()
        cursor = self._cursor()
        tenant_params = [tenant.workspace_id, tenant.test_mode]
        cursor.execute(
            "INSERT INTO metering_event_key (workspace_id, test_mode, event_id) "
            "SELECT ?, ?, value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING "
            "RETURNING event_id",
            [*tenant_params, json.dumps([event.event_id for event in events])],
        )
        stored = {row[0] for row in cursor.fetchall()}
        cursor.executemany(
            "INSERT INTO metering_event (workspace_id, test_mode, event_id, event_name, "
            "customer_key, timestamp, properties, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (*tenant_params, event.event_id, event.event_name, event.customer_key,
                 timestamp_text(event.timestamp),
                 orjson.dumps(event.properties, default=json_number).decode(),
                 timestamp_text(received_at))
                for event in events if event.event_id in stored
            ],
        )  # fmt: skip
        return stored
