"""The SQLite event store, for the zero-configuration setup (`make run` without
DATABASE_URL): the same answers as the PostgreSQL store, not its speed.

The tables are migration 0002's, unpartitioned. SQLite has one writer at a time, so a
batch needs no protocol against another: its keys go in with ON CONFLICT DO NOTHING,
RETURNING the ones that were new, then their events. Timestamps are stored as UTC text
(timestamp_text). SQLite has no exact decimal and no
time zones: reading a property as `->>` does, its number, the decimal aggregates and
the local day are functions registered on the connection, which the queries call; the
events are still read and aggregated by the query, never loaded here.
"""

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.db import connection

from metering.choices import Aggregation
from metering.store.base import (
    RESET_PROPERTY,
    RESET_VALUE,
    MeterSpec,
    NewEvent,
    Tenant,
    UsageQuery,
    UsageRow,
    Window,
    property_text,
    window_rows,
)
from metering.store.postgres import json_number


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


class _Sum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            self.total = Decimal(value) + (self.total or 0)

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
    raw.create_function("ev_local_day", 2, _local_day, deterministic=True)
    # typeshed expects a step of one argument: ev_latest takes three.
    raw.create_aggregate("ev_sum", 1, _Sum)  # type: ignore[arg-type]
    raw.create_aggregate("ev_max", 1, _Max)  # type: ignore[arg-type]
    raw.create_aggregate("ev_latest", 3, _Latest)  # type: ignore[arg-type]


def _value(meter: MeterSpec) -> tuple[str, list[Any]]:
    """The aggregate expression over the joined events `e`, and its parameters."""
    number = "ev_number(e.properties, ?)"
    if meter.aggregation == Aggregation.COUNT:
        return "count(*)", []
    if meter.aggregation == Aggregation.SUM:
        return f"coalesce(ev_sum({number}), 0)", [meter.field]
    if meter.aggregation == Aggregation.MAX:
        return f"coalesce(ev_max({number}), 0)", [meter.field]
    if meter.aggregation == Aggregation.UNIQUE_COUNT:
        return "count(DISTINCT ev_text(e.properties, ?))", [meter.field]
    if meter.aggregation == Aggregation.LATEST:
        return f"coalesce(ev_latest({number}, e.timestamp, e.event_id), 0)", [meter.field]
    raise ValueError(f"unknown aggregation {meter.aggregation!r}")


def _filters(meter: MeterSpec, alias: str = "e") -> tuple[str, list[Any]]:
    sql, params = "", []
    for key, values in meter.filters:
        sql += f" AND ev_text({alias}.properties, ?) IN (SELECT value FROM json_each(?))"
        params += [key, json.dumps(list(values))]
    return sql, params


def _is_reset(meter: MeterSpec, alias: str) -> tuple[str, list[Any]]:
    filters, params = _filters(meter, alias)
    return f" AND ev_text({alias}.properties, ?) = ?{filters}", [
        RESET_PROPERTY, RESET_VALUE, *params
    ]  # fmt: skip


_AFTER_RESET = " AND (r.event_id IS NULL OR (e.timestamp, e.event_id) >= (r.timestamp, r.event_id))"


def _django_raw() -> sqlite3.Connection:
    connection.ensure_connection()
    return connection.connection


class SqliteEventStore:
    """`raw` gives the sqlite3 connection to work in: Django's own by default, so a batch
    is written in the request's transaction."""

    def __init__(self, raw: Callable[[], sqlite3.Connection] = _django_raw) -> None:
        self.raw = raw

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

    def delete(self, *, tenant: Tenant, event: NewEvent) -> bool:
        # The key row stays in metering_event_key: the id is never inserted again.
        cursor = self._cursor()
        cursor.execute(
            "DELETE FROM metering_event WHERE workspace_id = ? AND test_mode = ? "
            "AND customer_key = ? AND event_name = ? AND timestamp = ? AND event_id = ?",
            [tenant.workspace_id, tenant.test_mode, event.customer_key, event.event_name,
             timestamp_text(event.timestamp), event.event_id],
        )  # fmt: skip
        return cursor.rowcount > 0

    def usage(self, *, tenant: Tenant, query: UsageQuery) -> list[UsageRow]:
        meter = query.meter
        value, value_params = _value(meter)
        filters, filter_params = _filters(meter)
        group, group_params = "NULL", []
        if query.group_by == "day":
            group, group_params = "ev_local_day(e.timestamp, ?)", [query.timezone]
        elif query.group_by == "property":
            group, group_params = "ev_text(e.properties, ?)", [query.group_property]
        window = (
            "{a}.workspace_id = ? AND {a}.test_mode = ? "
            "AND {a}.customer_key IN (SELECT value FROM json_each(?)) "
            "AND {a}.event_name = ? AND {a}.timestamp >= ? AND {a}.timestamp < ?"
        )
        window_params = [
            tenant.workspace_id, tenant.test_mode, json.dumps(list(query.customer_keys)),
            meter.event_name, timestamp_text(query.start), timestamp_text(query.end),
        ]  # fmt: skip
        reset, reset_params, after_reset = "", [], ""
        if meter.resets:
            is_reset, is_reset_params = _is_reset(meter, "s")
            reset = (
                " LEFT JOIN (SELECT s.timestamp, s.event_id FROM metering_event s "
                f"WHERE {window.format(a='s')}{is_reset} "
                "ORDER BY s.timestamp DESC, s.event_id DESC LIMIT 1) r ON true"
            )
            reset_params, after_reset = [*window_params, *is_reset_params], _AFTER_RESET
        # NULLs last, as PostgreSQL orders them.
        sql = (
            f"SELECT {group} AS grp, {value} FROM metering_event e{reset} "
            f"WHERE {window.format(a='e')}{filters}{after_reset} "
            "GROUP BY grp ORDER BY grp IS NULL, grp"
        )
        params = [
            *group_params, *value_params, *reset_params, *window_params, *filter_params
        ]  # fmt: skip
        cursor = self._cursor()
        cursor.execute(sql, params)
        rows = [UsageRow(group=row[0], value=Decimal(row[1])) for row in cursor.fetchall()]
        if query.group_by is None and not rows:
            return [UsageRow(group=None, value=Decimal(0))]
        return rows

    def usage_windows(
        self, *, tenant: Tenant, meter: MeterSpec, windows: Sequence[Window]
    ) -> dict[str, Decimal]:
        result = {window.key: Decimal(0) for window in windows}
        rows = window_rows(windows)
        if not rows:
            return result
        value, value_params = _value(meter)
        filters, filter_params = _filters(meter)
        window = (
            "{a}.workspace_id = ? AND {a}.test_mode = ? AND {a}.customer_key = w.customer_key "
            "AND {a}.event_name = ? AND {a}.timestamp >= w.start_at AND {a}.timestamp < w.end_at"
        )
        window_params = [tenant.workspace_id, tenant.test_mode, meter.event_name]
        resets, reset_params, reset_join, reset_where = "", [], "", ""
        if meter.resets:
            # Each window's last reset, over all its customer keys.
            is_reset, is_reset_params = _is_reset(meter, "s")
            resets = (
                ", r AS (SELECT key, timestamp, event_id FROM (SELECT w.key, s.timestamp, "
                "s.event_id, row_number() OVER (PARTITION BY w.key "
                "ORDER BY s.timestamp DESC, s.event_id DESC) AS n "
                f"FROM w JOIN metering_event s ON {window.format(a='s')}{is_reset}) "
                "WHERE n = 1)"
            )
            reset_params = [*window_params, *is_reset_params]
            reset_join, reset_where = " LEFT JOIN r ON r.key = w.key", " WHERE true" + _AFTER_RESET
        sql = (
            "WITH w AS (SELECT value ->> 0 AS key, value ->> 1 AS customer_key, "
            "value ->> 2 AS start_at, value ->> 3 AS end_at FROM json_each(?))"
            f"{resets} SELECT w.key, {value} FROM w JOIN metering_event e "
            f"ON {window.format(a='e')}{filters}{reset_join}{reset_where} GROUP BY w.key"
        )
        windows_json = json.dumps(
            [[key, customer, timestamp_text(start), timestamp_text(end)]
             for key, customer, start, end in rows]
        )  # fmt: skip
        params = [
            windows_json, *reset_params, *value_params, *window_params, *filter_params,
        ]  # fmt: skip
        cursor = self._cursor()
        cursor.execute(sql, params)
        for key, total in cursor.fetchall():
            result[key] = Decimal(total)
        return result

    def top_customer_keys(
        self, *, tenant: Tenant, meter: MeterSpec, start: datetime, end: datetime, limit: int
    ) -> list[UsageRow]:
        value, value_params = _value(meter)
        filters, filter_params = _filters(meter)
        window = (
            "{a}.workspace_id = ? AND {a}.test_mode = ? AND {a}.event_name = ? "
            "AND {a}.timestamp >= ? AND {a}.timestamp < ?"
        )
        window_params = [
            tenant.workspace_id, tenant.test_mode, meter.event_name,
            timestamp_text(start), timestamp_text(end),
        ]  # fmt: skip
        resets, reset_params, reset_join, after_reset = "", [], "", ""
        if meter.resets:
            is_reset, is_reset_params = _is_reset(meter, "s")
            resets = (
                "WITH r AS (SELECT customer_key, timestamp, event_id FROM (SELECT "
                "s.customer_key, s.timestamp, s.event_id, row_number() OVER (PARTITION BY "
                "s.customer_key ORDER BY s.timestamp DESC, s.event_id DESC) AS n "
                f"FROM metering_event s WHERE {window.format(a='s')}{is_reset}) WHERE n = 1) "
            )
            reset_params = [*window_params, *is_reset_params]
            reset_join = " LEFT JOIN r ON r.customer_key = e.customer_key"
            after_reset = _AFTER_RESET
        # The values are decimals as text: ordered as numbers by the collation.
        sql = (
            f"{resets}SELECT e.customer_key, {value} AS value FROM metering_event e{reset_join} "
            f"WHERE {window.format(a='e')}{filters}{after_reset} GROUP BY e.customer_key "
            "ORDER BY CAST(value AS TEXT) COLLATE ev_decimal DESC, e.customer_key LIMIT ?"
        )
        params = [
            *reset_params, *value_params, *window_params, *filter_params, limit,
        ]  # fmt: skip
        cursor = self._cursor()
        cursor.execute(sql, params)
        return [UsageRow(group=key, value=Decimal(total)) for key, total in cursor.fetchall()]
