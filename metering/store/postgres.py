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
Aggregation is one SQL query; no event is loaded into Python. The reads and the delete
are metering.store.sql's, which the SQLite store shares: `PostgresDialect` is what is
PostgreSQL's own in them.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection
from psycopg.types.json import Jsonb

from billing.db import server_bound_cursor
from metering.store.base import NewEvent, Tenant
from metering.store.sql import Dialect, SqlEventStore

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

_DELETE_LOST = "DELETE FROM metering_event WHERE tableoid = %s AND ctid = ANY(%s::tid[])"


class PostgresDialect(Dialect):
    null_group = "NULL::text"
    order_groups = "grp"
    # A JSON number, or a string holding a plain decimal; anything else is not a number
    # and is left out of sum, max and latest.
    number = (
        "CASE WHEN jsonb_typeof(e.properties -> %s) = 'number' THEN (e.properties ->> %s)::numeric "
        "WHEN jsonb_typeof(e.properties -> %s) = 'string' "
        "AND (e.properties ->> %s) ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' "
        "THEN btrim(e.properties ->> %s)::numeric END"
    )
    sum_function = "sum"
    max_function = "max"
    day = "to_char(date_trunc('day', e.timestamp AT TIME ZONE %s), 'YYYY-MM-DD')"
    # Ties by the key's bytes, as ClickHouse orders text.
    top_order = 'value DESC, e.customer_key COLLATE "C"'

    def text(self, alias: str) -> str:
        return f"{alias}.properties ->> %s"

    def distinct(self, alias: str) -> str:
        # A number by its value: numeric keeps the scale it was sent with (1.50), which
        # trim_scale drops; jsonb has already written any exponent out (1E+2 as 100).
        return (
            f"CASE WHEN jsonb_typeof({alias}.properties -> %s) = 'number' "
            f"THEN trim_scale(({alias}.properties ->> %s)::numeric)::text "
            f"ELSE {alias}.properties ->> %s END"
        )

    def latest(self, number: str) -> str:
        return (
            f"(array_agg({number} ORDER BY e.timestamp DESC, e.event_id DESC) "
            f"FILTER (WHERE {number} IS NOT NULL))[1]"
        )

    def one_of(self, expression: str) -> str:
        return f"{expression} = ANY(%s::text[])"

    def values(self, values: Sequence[str]) -> list[str]:
        return list(values)

    def instant(self, value: datetime) -> datetime:
        return value

    def windows(self, rows: Sequence[tuple[str, str, datetime, datetime]]) -> tuple[str, list[Any]]:
        table = (
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], "
            "%s::timestamptz[]) AS w(key, customer_key, start_at, end_at)"
        )
        return table, [list(column) for column in zip(*rows, strict=True)]

    def last_of(self, key: str, source: str) -> str:
        # DISTINCT ON keeps the first row of each key.
        return (
            f"SELECT DISTINCT ON ({key}) {key}, s.timestamp, s.event_id {source} "
            f"ORDER BY {key}, s.timestamp DESC, s.event_id DESC"
        )

    def run(self, sql: str, params: Sequence[Any]) -> tuple[list[tuple[Any, ...]], int]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return (cursor.fetchall() if cursor.description else []), cursor.rowcount


def json_number(value: Any) -> orjson.Fragment:
    """A Decimal (the kernel's JSON parser reads fractions as Decimals) as the exact
    number literal it came as; orjson serialises no Decimal of its own."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


def _as_written(text: bytes) -> bytes:
    """The JSON text `Jsonb` sends: already written."""
    return text


class PostgresEventStore(SqlEventStore):
    dialect = PostgresDialect()

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
