"""The ClickHouse event store, for volumes one PostgreSQL cannot hold
(EVENTS_BACKEND=clickhouse, CLICKHOUSE_URL=http://user:password@host:8123/database).

One MergeTree table ordered like the PostgreSQL index (tenant, customer, event name,
time) and partitioned by month. ClickHouse has no unique constraint: a batch's ids are
looked up before the insert, so a resent event is answered `duplicate` and not stored;
two requests racing with the same new id may both store it, so every aggregation reads
each event_id once (the first received, `LIMIT 1 BY event_id`) and the count stays exact.
ClickHouse's JSON functions read a JSON number with a fraction as a double, which keeps
about 16 digits: each event's such numbers are also stored as written, in `numbers`, and
read from there as decimals, so sums, max and latest are exact as in PostgreSQL (an event
stored before that column existed is read as the double).
A deleted event's rows go (a lightweight DELETE) and its id is kept in a second table,
`metering_deleted_events`: the insert looks ids up there too, and every aggregation
leaves those ids out, so a deleted event is not counted again even if a batch racing the
delete stores it anew.

The SQL is written once, with server-side parameters (`{name:Type}`), and runs through a
`Client`: clickhouse-connect's over HTTP, or chdb's in-process engine (tests, and a
developer without a server).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any, Protocol

import orjson

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
    filter_texts,
    window_rows,
)
from metering.store.postgres import json_number

TABLE = "metering_events"
DELETED = "metering_deleted_events"
_EVENTS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    workspace_id String,
    test_mode Bool,
    event_id String,
    event_name LowCardinality(String),
    customer_key String,
    timestamp DateTime64(6, 'UTC'),
    properties String,
    -- The top-level properties that are JSON numbers with a fraction, as written.
    numbers Map(String, String),
    received_at DateTime64(6, 'UTC'),
    INDEX event_id_index event_id TYPE bloom_filter GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (workspace_id, test_mode, customer_key, event_name, timestamp)
"""
_DELETED_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {DELETED} (
    workspace_id String,
    test_mode Bool,
    event_id String,
    deleted_at DateTime64(6, 'UTC')
) ENGINE = MergeTree
ORDER BY (workspace_id, test_mode, event_id)
"""
# A table created before `numbers` gets it; its events' numbers read as doubles.
_NUMBERS_COLUMN = (
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS numbers Map(String, String) AFTER properties"
)
SCHEMAS = (_EVENTS_SCHEMA, _DELETED_SCHEMA, _NUMBERS_COLUMN)
COLUMNS = [
    "workspace_id", "test_mode", "event_id", "event_name", "customer_key", "timestamp",
    "properties", "numbers", "received_at",
]  # fmt: skip
# A property read as a number is a Decimal(76, SCALE): PostgreSQL's numeric keeps every
# digit, and 24 decimals with 52 integer digits hold any quantity (24 integer digits, 6
# decimals) and any sum of numbers within ±2^63 (what events may carry) without overflow,
# so a sum beyond what billing holds is seen as such.
SCALE = 24


class Client(Protocol):
    def rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]: ...

    def insert(self, table: str, rows: list[list[Any]], columns: list[str]) -> None: ...

    def command(self, sql: str, parameters: dict[str, Any]) -> None: ...


def timestamp_text(value: datetime) -> str:
    """A DateTime64(6, 'UTC') parameter: every microsecond, in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class ConnectClient:
    """clickhouse-connect over HTTP."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        return list(self.client.query(sql, parameters=parameters).result_rows)

    def insert(self, table: str, rows: list[list[Any]], columns: list[str]) -> None:
        self.client.insert(table, rows, column_names=columns)

    def command(self, sql: str, parameters: dict[str, Any]) -> None:
        self.client.command(sql, parameters=parameters)


def client_from_url(url: str) -> Client:
    import clickhouse_connect

    client = ConnectClient(clickhouse_connect.get_client(dsn=url))
    for schema in SCHEMAS:
        client.client.command(schema)
    return client


def _property_text(key: str) -> str:
    """A property as text, as PostgreSQL's `->>` gives it (NULL when absent or null)."""
    return (
        f"multiIf(JSONType(e.properties, {key}) = 'String', "
        f"JSONExtractString(e.properties, {key}), JSONType(e.properties, {key}) = 'Null', NULL, "
        f"JSONExtractRaw(e.properties, {key}))"
    )


# A number as ClickHouse's JSON functions write it back (read as a double, unless it is
# an integer): sign, integer digits, fraction digits, exponent.
_NUMBER_PARTS = "'^(-?)([0-9]+)(?:\\\\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$'"


def _plain_number(raw: str) -> str:
    """The number `raw` as `number_text` writes it (1e-7 as 0.0000001, 1500 as is). The
    expressions repeat: ClickHouse computes each once a row."""
    parts = f"extractGroups({raw}, {_NUMBER_PARTS})"
    digits = f"concat({parts}[2], {parts}[3])"
    leading = f"replaceRegexpOne({digits}, '^0+', '')"
    # The point's place after the first significant digit (0: just before it).
    point = (
        f"(toInt64(length({parts}[2])) + toInt64OrZero({parts}[4]) "
        f"- toInt64(length({digits})) + toInt64(length({leading})))"
    )
    significant = f"replaceRegexpOne({leading}, '0+$', '')"
    width = f"toInt64(length({significant}))"
    plain = (
        f"multiIf({point} <= 0, "
        f"concat('0.', repeat('0', toUInt64(greatest(-{point}, 0))), {significant}), "
        f"{point} >= {width}, "
        f"concat({significant}, repeat('0', toUInt64(greatest({point} - {width}, 0)))), "
        f"concat(substring({significant}, 1, {point}), '.', substring({significant}, {point} + 1)))"
    )
    return f"if(empty({parts}), {raw}, if({significant} = '', '0', concat({parts}[1], {plain})))"


def _number_text(key: str) -> str:
    """A property that is a JSON number, as it was written: from `numbers` when it has a
    fraction (the JSON functions would give the double's digits), else as ClickHouse reads
    it (an integer exactly)."""
    return (
        f"if(mapContains(e.numbers, {key}), e.numbers[{key}], JSONExtractRaw(e.properties, {key}))"
    )


def _distinct_text(key: str) -> str:
    """A property as `unique_count`, group-by and filters tell values apart
    (`distinct_text`)."""
    return (
        f"if(JSONType(e.properties, {key}) IN ('Int64', 'UInt64', 'Double'), "
        f"{_plain_number(_number_text(key))}, {_property_text(key)})"
    )


def _number(key: str) -> str:
    """A property as a number: a JSON number or a string holding a plain decimal."""
    return (
        f"multiIf(JSONType(e.properties, {key}) IN ('Int64', 'UInt64', 'Double'), "
        f"toDecimal256OrNull({_number_text(key)}, {SCALE}), "
        f"JSONType(e.properties, {key}) = 'String' AND "
        f"match(trimBoth(JSONExtractString(e.properties, {key})), '^-?[0-9]+(\\\\.[0-9]+)?$'), "
        f"toDecimal256OrNull(trimBoth(JSONExtractString(e.properties, {key})), {SCALE}), NULL)"
    )


def _value(meter: MeterSpec) -> str:
    number = _number("{field:String}")
    if meter.aggregation == Aggregation.COUNT:
        return "toDecimal128(count(), 0)"
    if meter.aggregation == Aggregation.SUM:
        return f"coalesce(sum({number}), 0)"
    if meter.aggregation == Aggregation.MAX:
        return f"coalesce(max({number}), 0)"
    if meter.aggregation == Aggregation.UNIQUE_COUNT:
        return f"toDecimal128(uniqExact({_distinct_text('{field:String}')}), 0)"
    if meter.aggregation == Aggregation.LATEST:
        # Ties on timestamp go to the greatest event_id, as in PostgreSQL.
        return f"coalesce(argMaxIf({number}, (e.timestamp, e.event_id), isNotNull({number})), 0)"
    raise ValueError(f"unknown aggregation {meter.aggregation!r}")


def _filters(meter: MeterSpec, parameters: dict[str, Any]) -> str:
    sql = ""
    for n, (key, values) in enumerate(meter.filters):
        parameters[f"filter_key_{n}"] = key
        parameters[f"filter_values_{n}"] = list(filter_texts(values))
        text = _distinct_text(f"{{filter_key_{n}:String}}")
        sql += f" AND {text} IN {{filter_values_{n}:Array(String)}}"
    return sql


# The tenant's deleted event ids.
_DELETED_IDS = (
    f"SELECT event_id FROM {DELETED} WHERE workspace_id = {{workspace:String}} "
    "AND test_mode = {test_mode:Bool}"
)


def _events(customer_keys: str | None) -> str:
    """The tenant's events of one name for some customers (None: all), each event_id once,
    none deleted."""
    keys = "" if customer_keys is None else f"AND customer_key IN {customer_keys} "
    return (
        f"SELECT * FROM {TABLE} WHERE workspace_id = {{workspace:String}} "
        f"AND test_mode = {{test_mode:Bool}} AND event_name = {{event_name:String}} "
        f"{keys}AND event_id NOT IN ({_DELETED_IDS}) "
        "AND timestamp >= {start:DateTime64(6, 'UTC')} AND timestamp < {end:DateTime64(6, 'UTC')} "
        "ORDER BY received_at LIMIT 1 BY event_id"
    )


# The windows of `usage_windows` as a table `w`: (key, customer_key, start_at, end_at).
_WINDOWS = (
    "(SELECT w.1 AS key, w.2 AS customer_key, "
    "toDateTime64(w.3, 6, 'UTC') AS start_at, toDateTime64(w.4, 6, 'UTC') AS end_at "
    "FROM (SELECT arrayJoin(arrayZip({window_keys:Array(String)}, {keys:Array(String)}, "
    "{starts:Array(String)}, {ends:Array(String)})) AS w)) AS w"
)
# An event `e` the window's last reset `r` (found = 0: none) does not drop.
_AFTER_RESET = " AND (r.found = 0 OR tuple(e.timestamp, e.event_id) >= r.at)"


def _is_reset(meter: MeterSpec, parameters: dict[str, Any]) -> str:
    parameters.update(reset_property=RESET_PROPERTY, reset_value=RESET_VALUE)
    text = _property_text("{reset_property:String}")
    return f" AND {text} = {{reset_value:String}}{_filters(meter, parameters)}"


# Enough digits to drop a Decimal(76, SCALE)'s trailing zeros without rounding it.
_EXACT = Context(prec=80)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)).normalize(_EXACT) if value is not None else Decimal(0)


def _numbers(properties: dict[str, Any]) -> dict[str, str]:
    """The `numbers` of an event: its properties that are JSON numbers with a fraction
    (the parsed JSON's Decimals; a float, from a caller of the store), as written."""
    return {
        key: str(value) if isinstance(value, Decimal) else orjson.dumps(value).decode()
        for key, value in properties.items()
        if isinstance(value, Decimal | float)
    }


class ClickHouseEventStore:
    def __init__(self, client: Client) -> None:
        self.client = client

    def insert(
        self, *, tenant: Tenant, events: Sequence[NewEvent], received_at: datetime
    ) -> set[str]:
        if not events:
            return set()
        seen = self.client.rows(
            f"SELECT DISTINCT event_id FROM {TABLE} WHERE workspace_id = {{workspace:String}} "
            "AND test_mode = {test_mode:Bool} AND event_id IN {ids:Array(String)} "
            f"UNION DISTINCT SELECT event_id FROM ({_DELETED_IDS}) "
            "WHERE event_id IN {ids:Array(String)}",
            {"workspace": tenant.workspace_id, "test_mode": tenant.test_mode,
             "ids": [e.event_id for e in events]},
        )  # fmt: skip
        known = {row[0] for row in seen}
        fresh = [event for event in events if event.event_id not in known]
        if fresh:
            self.client.insert(
                TABLE,
                [
                    [
                        tenant.workspace_id,
                        tenant.test_mode,
                        e.event_id,
                        e.event_name,
                        e.customer_key,
                        e.timestamp.astimezone(UTC),
                        orjson.dumps(e.properties, default=json_number).decode(),
                        _numbers(e.properties),
                        received_at.astimezone(UTC),
                    ]
                    for e in fresh
                ],
                COLUMNS,
            )
        return {event.event_id for event in fresh}

    def delete(self, *, tenant: Tenant, event: NewEvent) -> bool:
        parameters = {
            "workspace": tenant.workspace_id, "test_mode": tenant.test_mode,
            "customer_key": event.customer_key, "event_name": event.event_name,
            "at": timestamp_text(event.timestamp), "event_id": event.event_id,
        }  # fmt: skip
        where = (
            "workspace_id = {workspace:String} AND test_mode = {test_mode:Bool} "
            "AND customer_key = {customer_key:String} AND event_name = {event_name:String} "
            "AND timestamp = {at:DateTime64(6, 'UTC')} AND event_id = {event_id:String}"
        )
        found = self.client.rows(
            f"SELECT count() FROM {TABLE} WHERE {where} AND event_id NOT IN ({_DELETED_IDS})",
            parameters,
        )
        if not int(found[0][0]):
            return False
        # The id first: from then on no aggregation counts it, whenever the rows go.
        self.client.insert(
            DELETED,
            [[tenant.workspace_id, tenant.test_mode, event.event_id, datetime.now(UTC)]],
            ["workspace_id", "test_mode", "event_id", "deleted_at"],
        )
        self.client.command(f"DELETE FROM {TABLE} WHERE {where}", parameters)
        return True

    def _parameters(self, tenant: Tenant, meter: MeterSpec) -> dict[str, Any]:
        return {
            "workspace": tenant.workspace_id,
            "test_mode": tenant.test_mode,
            "event_name": meter.event_name,
            "field": meter.field,
        }

    def usage(self, *, tenant: Tenant, query: UsageQuery) -> list[UsageRow]:
        parameters = self._parameters(tenant, query.meter)
        parameters.update(
            keys=list(query.customer_keys),
            start=timestamp_text(query.start),
            end=timestamp_text(query.end),
        )
        group = "CAST(NULL AS Nullable(String))"
        if query.group_by == "day":
            group = "formatDateTime(toTimeZone(e.timestamp, {timezone:String}), '%Y-%m-%d')"
            parameters["timezone"] = query.timezone
        elif query.group_by == "property":
            group = _distinct_text("{group_property:String}")
            parameters["group_property"] = query.group_property
        filters = _filters(query.meter, parameters)
        events = _events("{keys:Array(String)}")
        reset, after_reset = "", ""
        if query.meter.resets:
            # One row whatever the events: an aggregate without GROUP BY.
            reset = (
                " CROSS JOIN (SELECT count() AS found, max(tuple(e.timestamp, e.event_id)) AS at "
                f"FROM ({events}) AS e WHERE 1 {_is_reset(query.meter, parameters)}) AS r"
            )
            after_reset = _AFTER_RESET
        sql = (
            f"SELECT {group} AS grp, {_value(query.meter)} AS value "
            f"FROM ({events}) AS e{reset} WHERE 1 {filters}{after_reset} "
            "GROUP BY grp ORDER BY grp"
        )
        rows = [UsageRow(group=g, value=_decimal(v)) for g, v in self.client.rows(sql, parameters)]
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
        parameters = self._parameters(tenant, meter)
        parameters.update(
            window_keys=[row[0] for row in rows],
            keys=[row[1] for row in rows],
            starts=[timestamp_text(row[2]) for row in rows],
            ends=[timestamp_text(row[3]) for row in rows],
            start=timestamp_text(min(row[2] for row in rows)),
            end=timestamp_text(max(row[3] for row in rows)),
        )
        filters = _filters(meter, parameters)
        events = _events("{keys:Array(String)}")
        in_window = "e.timestamp >= w.start_at AND e.timestamp < w.end_at"
        reset, after_reset = "", ""
        if meter.resets:
            reset = (
                " LEFT JOIN (SELECT w.key AS key, count() AS found, "
                f"max(tuple(e.timestamp, e.event_id)) AS at FROM ({events}) AS e "
                f"INNER JOIN {_WINDOWS} ON e.customer_key = w.customer_key "
                f"WHERE {in_window} {_is_reset(meter, parameters)} GROUP BY w.key) AS r "
                "ON r.key = w.key"
            )
            after_reset = _AFTER_RESET
        sql = (
            f"SELECT w.key, {_value(meter)} AS value FROM ({events}) AS e "
            f"INNER JOIN {_WINDOWS} ON e.customer_key = w.customer_key{reset} "
            f"WHERE {in_window} {filters}{after_reset} GROUP BY w.key"
        )
        for key, value in self.client.rows(sql, parameters):
            result[key] = _decimal(value)
        return result

    def top_customer_keys(
        self, *, tenant: Tenant, meter: MeterSpec, start: datetime, end: datetime, limit: int
    ) -> list[UsageRow]:
        parameters = self._parameters(tenant, meter)
        parameters.update(start=timestamp_text(start), end=timestamp_text(end), limit=limit)
        filters = _filters(meter, parameters)
        events = _events(None)
        reset, after_reset = "", ""
        if meter.resets:
            reset = (
                " LEFT JOIN (SELECT e.customer_key AS customer_key, count() AS found, "
                f"max(tuple(e.timestamp, e.event_id)) AS at FROM ({events}) AS e "
                f"WHERE 1 {_is_reset(meter, parameters)} GROUP BY e.customer_key) AS r "
                "ON r.customer_key = e.customer_key"
            )
            after_reset = _AFTER_RESET
        sql = (
            f"SELECT e.customer_key AS customer, {_value(meter)} AS value "
            f"FROM ({events}) AS e{reset} WHERE 1 {filters}{after_reset} "
            "GROUP BY customer ORDER BY value DESC, customer LIMIT {limit:UInt32}"
        )
        return [UsageRow(group=k, value=_decimal(v)) for k, v in self.client.rows(sql, parameters)]
