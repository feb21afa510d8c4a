"""The event store's tables (PostgreSQL), in raw SQL: Django cannot declare a
partitioned table. `metering.Event` maps `metering_event` read-only (unmanaged).

Why two tables. `metering_event` is range-partitioned by month on `timestamp`, so old
months can be detached or dropped and a customer-month query reads one partition. But a
unique index on a partitioned table must contain the partition key, so it could only
make (workspace, mode, event_id, timestamp) unique, and the same event_id sent again
with another timestamp would count twice. The dedup key therefore lives in
`metering_event_key`, unpartitioned, with (workspace_id, test_mode, event_id) as its
primary key: the insert of a batch writes the keys with ON CONFLICT DO NOTHING and only
the events whose key went in, in one statement (metering/store/postgres.py). The key
table is narrow (three columns) and keeps every event_id forever, as G5 asks.
"""

from datetime import date

from django.db import migrations

from metering.store.partitions import PARTITIONS_FROM, month_start, partition_sql

# The months created up front; the beat task adds the ones after.
_MONTHS = 48

_CREATE = [
    """
    CREATE TABLE metering_event (
        id bigserial NOT NULL,
        workspace_id varchar(40) NOT NULL,
        test_mode boolean NOT NULL,
        event_id varchar(255) NOT NULL,
        event_name varchar(255) NOT NULL,
        customer_key varchar(64) NOT NULL,
        timestamp timestamptz NOT NULL,
        properties jsonb NOT NULL DEFAULT '{}'::jsonb,
        received_at timestamptz NOT NULL
    ) PARTITION BY RANGE (timestamp)
    """,
    # What every aggregation reads: one tenant's customer, one event name, a time range.
    "CREATE INDEX metering_event_usage ON metering_event "
    "(workspace_id, test_mode, customer_key, event_name, timestamp)",
    # The admin's search by event_id (dropped by 0004: it cost every insert).
    "CREATE INDEX metering_event_event_id ON metering_event (workspace_id, test_mode, event_id)",
    "CREATE TABLE metering_event_default PARTITION OF metering_event DEFAULT",
    """
    CREATE TABLE metering_event_key (
        workspace_id varchar(40) NOT NULL,
        test_mode boolean NOT NULL,
        event_id varchar(255) NOT NULL,
        PRIMARY KEY (workspace_id, test_mode, event_id)
    )
    """,
]


def _months() -> list[date]:
    return [month_start(PARTITIONS_FROM, offset) for offset in range(_MONTHS)]


# SQLite (the zero-configuration development setup): the same tables, unpartitioned.
_CREATE_SQLITE = [
    """
    CREATE TABLE metering_event (
        id integer PRIMARY KEY AUTOINCREMENT,
        workspace_id varchar(40) NOT NULL,
        test_mode bool NOT NULL,
        event_id varchar(255) NOT NULL,
        event_name varchar(255) NOT NULL,
        customer_key varchar(64) NOT NULL,
        timestamp datetime NOT NULL,
        properties text NOT NULL DEFAULT '{}',
        received_at datetime NOT NULL
    )
    """,
    "CREATE INDEX metering_event_usage ON metering_event "
    "(workspace_id, test_mode, customer_key, event_name, timestamp)",
    """
    CREATE TABLE metering_event_key (
        workspace_id varchar(40) NOT NULL,
        test_mode bool NOT NULL,
        event_id varchar(255) NOT NULL,
        PRIMARY KEY (workspace_id, test_mode, event_id)
    )
    """,
]


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        for statement in _CREATE_SQLITE:
            schema_editor.execute(statement)
        return
    for statement in _CREATE:
        schema_editor.execute(statement)
    for month in _months():
        schema_editor.execute(partition_sql(month))


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute("DROP TABLE IF EXISTS metering_event_key")
    cascade = " CASCADE" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"DROP TABLE IF EXISTS metering_event{cascade}")


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
