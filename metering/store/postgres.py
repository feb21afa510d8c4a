"""The PostgreSQL event store: `metering_event`, range-partitioned by month on
`timestamp`, and `metering_event_key`, the dedup keys (see the migration for why two
tables).

A batch is written by one statement. The events whose key is not stored yet go in first,
then their keys, with ON CONFLICT DO NOTHING (against the key table's hash exclusion
constraint, migration 0007): a key is held from its insert to the commit, so a batch
sending an id another batch is storing waits on it only for that short stretch, not
while the other's events are written too. Keys are taken in event_id order (sorted in
SQL, bytewise: the same order in every session whatever its collation): two batches
sharing ids wait on them in the same order, for each other, instead of deadlocking. Two
requests carrying the same new event_id at once: the second waits on the first's key
row, then skips it (it commits) or takes it (it rolls back), so an event is stored once
whatever the interleaving; an event whose key it skipped is deleted again before its
transaction ends.
Aggregation is one SQL query; no event is loaded into Python.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection
from psycopg.types.json import Jsonb

from billing.db import server_bound_cursor
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
    window_rows,
)

# The batch travels as one JSON array of events, each an array in NewEvent's field order,
# that PostgreSQL unpacks in C: cheaper than five parameter arrays, whose text psycopg
# escapes value by value. Arrays rather than objects: no key repeated a thousand times to
# parse, and the fields are read by position, not looked up by name (jsonb_to_recordset).
#
# The events whose key is not stored (as this statement's snapshot sees it) are inserted,
# then their keys; the InitPlan counting `events` runs before the first key is inserted,
# so a key held by this transaction waits on nobody while the events are written. A key
# another transaction stored meanwhile is skipped by ON CONFLICT: its event is then
# returned with where it lies (its partition and ctid), to be deleted, and the counts
# compared first make that a no-op in the usual case. Every other row is a stored
# event_id. The probe of a key is the constraint's expression (migration 0007), so it
# reads the constraint's hash index.
_INSERT = """
WITH candidates AS MATERIALIZED (
    SELECT e FROM jsonb_array_elements(%(batch)s::jsonb) AS e
    WHERE NOT EXISTS (
        SELECT FROM metering_event_key k
        WHERE k.workspace_id || CASE WHEN k.test_mode THEN ':t:' ELSE ':f:' END || k.event_id
            = %(workspace_id)s::text
            || CASE WHEN %(test_mode)s THEN ':t:' ELSE ':f:' END || (e ->> 0)
    )
), events AS (
    INSERT INTO metering_event
        (workspace_id, test_mode, event_id, event_name, customer_key, timestamp, properties,
         received_at)
    SELECT %(workspace_id)s, %(test_mode)s, e ->> 0, e ->> 1, e ->> 2,
           (e ->> 3)::timestamptz, e -> 4, %(received_at)s
    FROM candidates
    RETURNING tableoid, ctid, event_id
), keys AS (
    INSERT INTO metering_event_key (workspace_id, test_mode, event_id)
    SELECT %(workspace_id)s, %(test_mode)s, e ->> 0 FROM candidates
    WHERE (SELECT count(*) FROM events) >= 0
    ORDER BY (e ->> 0) COLLATE "C"
    ON CONFLICT DO NOTHING
    RETURNING event_id
)
SELECT event_id, NULL::oid, NULL::text FROM keys
UNION ALL
SELECT event_id, tableoid, ctid::text FROM events
WHERE (SELECT count(*) FROM keys) < (SELECT count(*) FROM events)
    AND event_id NOT IN (SELECT event_id FROM keys)
"""

# One event, by the usage index's columns and its id; its key row in metering_event_key
# stays, so `_INSERT` skips the id from then on.
_DELETE = (
    "DELETE FROM metering_event WHERE workspace_id = %s AND test_mode = %s "
    "AND customer_key = %s AND event_name = %s AND timestamp = %s AND event_id = %s"
)

_DELETE_LOST = "DELETE FROM metering_event WHERE tableoid = %s AND ctid = ANY(%s::tid[])"

# A property as a number: a JSON number, or a string holding a plain decimal; anything
# else is not a number and is left out of sum, max and latest.
_NUMBER = (
    "CASE WHEN jsonb_typeof(e.properties -> %s) = 'number' THEN (e.properties ->> %s)::numeric "
    "WHEN jsonb_typeof(e.properties -> %s) = 'string' "
    "AND (e.properties ->> %s) ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' "
    "THEN btrim(e.properties ->> %s)::numeric END"
)


def _value(meter: MeterSpec) -> tuple[str, list[Any]]:
    """The aggregate expression over the joined events `e`, and its parameters."""
    number, number_params = _NUMBER, [meter.field] * 5
    if meter.aggregation == Aggregation.COUNT:
        return "count(*)", []
    if meter.aggregation == Aggregation.SUM:
        return f"coalesce(sum({number}), 0)", number_params
    if meter.aggregation == Aggregation.MAX:
        return f"coalesce(max({number}), 0)", number_params
    if meter.aggregation == Aggregation.UNIQUE_COUNT:
        return "count(DISTINCT e.properties ->> %s)", [meter.field]
    if meter.aggregation == Aggregation.LATEST:
        # Ties on timestamp go to the greatest event_id, so the order events arrived in
        # never changes the answer.
        return (
            f"coalesce((array_agg({number} ORDER BY e.timestamp DESC, e.event_id DESC) "
            f"FILTER (WHERE {number} IS NOT NULL))[1], 0)",
            number_params * 2,
        )
    raise ValueError(f"unknown aggregation {meter.aggregation!r}")


def _filters(meter: MeterSpec, alias: str = "e") -> tuple[str, list[Any]]:
    sql, params = "", []
    for key, values in meter.filters:
        sql += f" AND {alias}.properties ->> %s = ANY(%s::text[])"
        params += [key, list(values)]
    return sql, params


# The reset an event at (timestamp, event_id) is after, as a condition on `e` against the
# last reset `r` of its window (none: every event counts).
_AFTER_RESET = " AND (r.event_id IS NULL OR (e.timestamp, e.event_id) >= (r.timestamp, r.event_id))"


def _is_reset(meter: MeterSpec, alias: str) -> tuple[str, list[Any]]:
    filters, params = _filters(meter, alias)
    return f" AND {alias}.properties ->> %s = %s{filters}", [RESET_PROPERTY, RESET_VALUE, *params]


def json_number(value: Any) -> orjson.Fragment:
    """A Decimal (the kernel's JSON parser reads fractions as Decimals) as the exact
    number literal it came as; orjson serialises no Decimal of its own."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


def _as_written(text: bytes) -> bytes:
    """The JSON text `Jsonb` sends: already written."""
    return text


class PostgresEventStore:
    def insert(
        self, *, tenant: Tenant, events: Sequence[NewEvent], received_at: datetime
    ) -> set[str]:
        if not events:
            return set()
        # orjson writes a tuple, not a named tuple, as an array. Its bytes are sent as
        # they are, typed jsonb: as text they were decoded here and encoded again by the
        # driver (13 us a batch of a thousand, against 2).
        batch = Jsonb(
            orjson.dumps(list(map(tuple, events)), default=json_number), dumps=_as_written
        )
        params: dict[str, Any] = {
            "batch": batch, "workspace_id": tenant.workspace_id, "test_mode": tenant.test_mode,
            "received_at": received_at,
        }  # fmt: skip
        with server_bound_cursor() as cursor:
            cursor.execute(_INSERT, params)
            rows = cursor.fetchall()
            lost: dict[int, list[str]] = {}
            for _, partition, ctid in rows:
                if partition is not None:
                    lost.setdefault(partition, []).append(ctid)
            for partition, ctids in lost.items():
                cursor.execute(_DELETE_LOST, [partition, ctids])
            return {event_id for event_id, partition, _ in rows if partition is None}

    def delete(self, *, tenant: Tenant, event: NewEvent) -> bool:
        params: list[Any] = [
            tenant.workspace_id, tenant.test_mode, event.customer_key, event.event_name,
            event.timestamp, event.event_id,
        ]  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(_DELETE, params)
            return cursor.rowcount > 0

    def usage(self, *, tenant: Tenant, query: UsageQuery) -> list[UsageRow]:
        meter = query.meter
        value, value_params = _value(meter)
        filters, filter_params = _filters(meter)
        group, group_params = "NULL::text", []
        if query.group_by == "day":
            group = "to_char(date_trunc('day', e.timestamp AT TIME ZONE %s), 'YYYY-MM-DD')"
            group_params = [query.timezone]
        elif query.group_by == "property":
            group, group_params = "e.properties ->> %s", [query.group_property]
        window = (
            "{a}.workspace_id = %s AND {a}.test_mode = %s AND {a}.customer_key = ANY(%s::text[]) "
            "AND {a}.event_name = %s AND {a}.timestamp >= %s AND {a}.timestamp < %s"
        )
        window_params = [
            tenant.workspace_id, tenant.test_mode, list(query.customer_keys), meter.event_name,
            query.start, query.end,
        ]  # fmt: skip
        reset, reset_params, after_reset = "", [], ""
        if meter.resets:
            is_reset, is_reset_params = _is_reset(meter, "s")
            reset = (
                f" LEFT JOIN (SELECT s.timestamp, s.event_id FROM metering_event s "
                f"WHERE {window.format(a='s')}{is_reset} "
                "ORDER BY s.timestamp DESC, s.event_id DESC LIMIT 1) r ON true"
            )
            reset_params, after_reset = [*window_params, *is_reset_params], _AFTER_RESET
        sql = (
            f"SELECT {group} AS grp, {value} FROM metering_event e{reset} "
            f"WHERE {window.format(a='e')}{filters}{after_reset} GROUP BY grp ORDER BY grp"
        )
        params = [
            *group_params, *value_params, *reset_params, *window_params, *filter_params
        ]  # fmt: skip
        with connection.cursor() as cursor:
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
        # The windows' overall span, as constants: the planner then reads only the months'
        # partitions it covers. Without them it scanned every month of the tenant's events
        # (a cycle over 10 million events: 55 s against 3.3 s, bench/usage_query.py).
        span = [min(row[2] for row in rows), max(row[3] for row in rows)]
        window = (
            "{a}.workspace_id = %s AND {a}.test_mode = %s AND {a}.customer_key = w.customer_key "
            "AND {a}.event_name = %s AND {a}.timestamp >= w.start_at AND {a}.timestamp < w.end_at "
            "AND {a}.timestamp >= %s AND {a}.timestamp < %s"
        )
        window_params = [tenant.workspace_id, tenant.test_mode, meter.event_name, *span]
        resets, reset_params, reset_join, reset_where = "", [], "", ""
        if meter.resets:
            # Each window's last reset (DISTINCT ON keeps the first row of each key).
            is_reset, is_reset_params = _is_reset(meter, "s")
            resets = (
                ", r AS (SELECT DISTINCT ON (w.key) w.key, s.timestamp, s.event_id FROM w "
                f"JOIN metering_event s ON {window.format(a='s')}{is_reset} "
                "ORDER BY w.key, s.timestamp DESC, s.event_id DESC)"
            )
            reset_params = [*window_params, *is_reset_params]
            reset_join, reset_where = " LEFT JOIN r ON r.key = w.key", " WHERE true" + _AFTER_RESET
        sql = (
            "WITH w AS (SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], "
            f"%s::timestamptz[]) AS w(key, customer_key, start_at, end_at)){resets} "
            f"SELECT w.key, {value} FROM w JOIN metering_event e ON {window.format(a='e')}"
            f"{filters}{reset_join}{reset_where} GROUP BY w.key"
        )
        columns = [list(column) for column in zip(*rows, strict=True)]
        params = [
            *columns, *reset_params, *value_params, *window_params, *filter_params,
        ]  # fmt: skip
        with connection.cursor() as cursor:
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
            "{a}.workspace_id = %s AND {a}.test_mode = %s AND {a}.event_name = %s "
            "AND {a}.timestamp >= %s AND {a}.timestamp < %s"
        )
        window_params = [tenant.workspace_id, tenant.test_mode, meter.event_name, start, end]
        resets, reset_params, reset_join, after_reset = "", [], "", ""
        if meter.resets:
            # Each key's last reset (DISTINCT ON keeps the first row of each key).
            is_reset, is_reset_params = _is_reset(meter, "s")
            resets = (
                "WITH r AS (SELECT DISTINCT ON (s.customer_key) s.customer_key, s.timestamp, "
                f"s.event_id FROM metering_event s WHERE {window.format(a='s')}{is_reset} "
                "ORDER BY s.customer_key, s.timestamp DESC, s.event_id DESC) "
            )
            reset_params = [*window_params, *is_reset_params]
            reset_join = " LEFT JOIN r ON r.customer_key = e.customer_key"
            after_reset = _AFTER_RESET
        # Ties by the key's bytes, as ClickHouse orders text.
        sql = (
            f"{resets}SELECT e.customer_key, {value} AS value FROM metering_event e{reset_join} "
            f"WHERE {window.format(a='e')}{filters}{after_reset} GROUP BY e.customer_key "
            'ORDER BY value DESC, e.customer_key COLLATE "C" LIMIT %s'
        )
        params = [
            *reset_params, *value_params, *window_params, *filter_params, limit,
        ]  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [UsageRow(group=key, value=Decimal(total)) for key, total in cursor.fetchall()]
