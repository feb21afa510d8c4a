"""The event store: where usage events are written and aggregated.

One small interface (`EventStore`) with two implementations: PostgreSQL (the default,
in the application's own database and transaction) and ClickHouse (for a volume one
PostgreSQL cannot hold, chosen with EVENTS_BACKEND=clickhouse and CLICKHOUSE_URL).
Everything above this package speaks only to `event_store()`.
"""

from functools import cache

from django.conf import settings
from django.db import connection

from billing.errors import DomainError
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
    property_text,
)
from metering.store.clickhouse import ClickHouseEventStore, client_from_url
from metering.store.postgres import PostgresEventStore

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
    "event_store",
    "property_text",
]


@cache
def _store(backend: str) -> EventStore:
    if backend == "clickhouse":
        return ClickHouseEventStore(client_from_url(settings.CLICKHOUSE_URL))
    return PostgresEventStore()


def event_store() -> EventStore:
    backend = settings.EVENTS_BACKEND
    if backend != "clickhouse" and connection.vendor != "postgresql":
        # SQLite (the zero-configuration setup) has the tables but not the SQL the store
        # speaks: say so instead of failing inside a query.
        raise DomainError(
            "event_store_unavailable",
            "Usage events need PostgreSQL (set DATABASE_URL) or ClickHouse "
            "(EVENTS_BACKEND=clickhouse and CLICKHOUSE_URL).",
            status_code=503,
        )
    return _store(backend)
