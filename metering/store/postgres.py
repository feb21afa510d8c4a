"""The PostgreSQL event store: `metering_event`, range-partitioned by month on
`timestamp`, and `metering_event_key`, the dedup keys (see the migration for why two
tables).

A batch is written by one statement: the keys are inserted with ON CONFLICT DO NOTHING,
and only the events whose key went in are inserted. Keys are taken in event_id order
(sorted in SQL, bytewise: the same order in every session whatever its collation): two
batches sharing ids lock them in the same order and wait for each other instead of
deadlocking. Two requests carrying the same new event_id at once: the second waits on
the first's key row, then skips it (it commits) or takes it (it rolls back), so an event
is stored once whatever the interleaving.
Aggregation is one SQL query; no event is loaded into Python.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection

from metering.choices import Aggregation
from metering.store.base import MeterSpec, NewEvent, Tenant, UsageQuery, UsageRow, Window

# The batch travels as one JSON array that PostgreSQL unpacks in C (jsonb_to_recordset):
# cheaper than five parameter arrays, whose text psycopg escapes value by value.
_INSERT = """
WITH batch AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb)
        AS b(event_id text, event_name text, customer_key text, ts timestamptz, properties jsonb)
), fresh AS (
    INSERT INTO metering_event_key (workspace_id, test_mode, event_id)
    SELECT %s, %s, event_id FROM batch ORDER BY event_id COLLATE "C"
    ON CONFLICT DO NOTHING
    RETURNING event_id
)
INSERT INTO metering_event
    (workspace_id, test_mode, event_id, event_name, customer_key, timestamp, properties,
     received_at)
SELECT %s, %s, batch.event_id, batch.event_name, batch.customer_key, batch.ts,
       batch.properties, %s
FROM batch JOIN fresh USING (event_id)
RETURNING event_id
"""

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


def _filters(meter: MeterSpec) -> tuple[str, list[Any]]:
    sql, params = "", []
    for key, values in meter.filters:
        sql += " AND e.properties ->> %s = ANY(%s::text[])"
        params += [key, list(values)]
    return sql, params


def json_number(value: Any) -> orjson.Fragment:
    """A Decimal (the kernel's JSON parser reads fractions as Decimals) as the exact
    number literal it came as; orjson serialises no Decimal of its own."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


class PostgresEventStore:
    def insert(
        self, *, tenant: Tenant, events: Sequence[NewEvent], received_at: datetime
    ) -> set[str]:
        if not events:
            return set()
        rows = [
            {"event_id": e.event_id, "event_name": e.event_name, "customer_key": e.customer_key,
             "ts": e.timestamp, "properties": e.properties}
            for e in events
        ]  # fmt: skip
        batch = orjson.dumps(rows, default=json_number).decode()
        tenant_params: list[Any] = [tenant.workspace_id, tenant.test_mode]
        params: list[Any] = [batch, *tenant_params, *tenant_params, received_at]
        with connection.cursor() as cursor:
            cursor.execute(_INSERT, params)
            return {row[0] for row in cursor.fetchall()}

    def usage(self, *, tenant: Tenant, query: UsageQuery) -> list[UsageRow]:
        value, value_params = _value(query.meter)
        filters, filter_params = _filters(query.meter)
        group, group_params = "NULL::text", []
        if query.group_by == "day":
            group = "to_char(date_trunc('day', e.timestamp AT TIME ZONE %s), 'YYYY-MM-DD')"
            group_params = [query.timezone]
        elif query.group_by == "property":
            group, group_params = "e.properties ->> %s", [query.group_property]
        sql = (
            f"SELECT {group} AS grp, {value} FROM metering_event e "
            "WHERE e.workspace_id = %s AND e.test_mode = %s AND e.customer_key = ANY(%s::text[]) "
            "AND e.event_name = %s AND e.timestamp >= %s AND e.timestamp < %s"
            f"{filters} GROUP BY grp ORDER BY grp"
        )
        params = [
            *group_params, *value_params, tenant.workspace_id, tenant.test_mode,
            list(query.customer_keys), query.meter.event_name, query.start, query.end,
            *filter_params,
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
        rows = [(w.key, key, w.start, w.end) for w in windows for key in w.customer_keys]
        if not rows:
            return result
        value, value_params = _value(meter)
        filters, filter_params = _filters(meter)
        sql = (
            f"SELECT w.key, {value} "
            "FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[]) "
            "AS w(key, customer_key, start_at, end_at) "
            "JOIN metering_event e ON e.workspace_id = %s AND e.test_mode = %s "
            "AND e.customer_key = w.customer_key AND e.event_name = %s "
            "AND e.timestamp >= w.start_at AND e.timestamp < w.end_at"
            f"{filters} GROUP BY w.key"
        )
        columns = [list(column) for column in zip(*rows, strict=True)]
        params = [
            *value_params, *columns, tenant.workspace_id, tenant.test_mode, meter.event_name,
            *filter_params,
        ]  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for key, total in cursor.fetchall():
                result[key] = Decimal(total)
        return result
