"""The event store: where usage events are written and aggregated.

One small interface (`EventStore`) with three implementations: PostgreSQL (the default,
in the application's own database and transaction), ClickHouse (for a volume one
PostgreSQL cannot hold, chosen with EVENTS_BACKEND=clickhouse and CLICKHOUSE_URL) and
SQLite (in the zero-configuration database, when that is SQLite).
Everything above this package speaks only to `event_store()`.
"""

from functools import cache

from django.conf import settings
from django.db import connection

from metering.store.base import (
    RESET_PROPERTY,
    RESET_VALUE,
    EventStore,
    MeterSpec,
    NewEvent,
    Tenant,
    UsageQuery,
    UsageRow,
    Window,
    distinct_text,
    filter_texts,
    property_text,
)
from metering.store.clickhouse import ClickHouseEventStore, client_from_url
from metering.store.postgres import PostgresEventStore
from metering.store.sqlite import SqliteEventStore

__all__ = [
    "RESET_PROPERTY",
    "RESET_VALUE",
    "EventStore",
    "MeterSpec",
    "NewEvent",
    "Tenant",
    "UsageQuery",
    "UsageRow",
    "Window",
    "distinct_text",
    "event_store",
    "filter_texts",
    "property_text",
]


@cache
def _store(backend: str) -> EventStore:
    if backend == "clickhouse":
        return ClickHouseEventStore(client_from_url(settings.CLICKHOUSE_URL))
    if backend == "sqlite":
        return SqliteEventStore()
    return PostgresEventStore()


def event_store() -> EventStore:
    backend = settings.EVENTS_BACKEND
    if backend != "clickhouse" and connection.vendor == "sqlite":
        backend = "sqlite"
    return _store(backend)
