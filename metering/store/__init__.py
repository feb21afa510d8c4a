"""The event store: where usage events are written and aggregated.

One small interface (`EventStore`) with two implementations: PostgreSQL (the default,
in the application's own database and transaction) and ClickHouse (for a volume one
PostgreSQL cannot hold, chosen with EVENTS_BACKEND=clickhouse and CLICKHOUSE_URL).
Everything above this package speaks only to `event_store()`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.db import connection

from billing.errors import DomainError


@dataclass(frozen=True)
class NewEvent:
    event_id: str
    event_name: str
    customer_key: str
    timestamp: datetime
    properties: dict[str, Any]


@dataclass(frozen=True)
class MeterSpec:
    """What a meter aggregates: events named `event_name` whose filtered properties match,
    by `aggregation` over the property `field`."""

    event_name: str
    aggregation: str
    field: str = ""
    # ((key, (value, …)), …): each key's property, as text, is one of its values.
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Window:
    """One customer's events in [start, end), reported under `key`. A customer known by
    several keys (its id and its reference) has one window per key with the same `key`."""

    key: str
    customer_keys: tuple[str, ...]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class UsageQuery:
    meter: MeterSpec
    customer_keys: tuple[str, ...]
    start: datetime
    end: datetime
    # None, "day" (in `timezone`) or "property" (grouped by `group_property`'s text).
    group_by: str | None = None
    group_property: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class UsageRow:
    group: str | None
    value: Decimal


@dataclass(frozen=True)
class Tenant:
    workspace_id: str
    test_mode: bool


class EventStore(Protocol):
    def insert(
        self, *, tenant: Tenant, events: Sequence[NewEvent], received_at: datetime
    ) -> set[str]:
        """Store the events whose event_id the tenant has never sent; return those ids.
        `events` hold no event_id twice."""
        ...

    def usage(self, *, tenant: Tenant, query: UsageQuery) -> list[UsageRow]:
        """The meter's value over the window, one row per group (one row, group None,
        when ungrouped; no row for a group without events)."""
        ...

    def usage_windows(
        self, *, tenant: Tenant, meter: MeterSpec, windows: Sequence[Window]
    ) -> dict[str, Decimal]:
        """The meter's value in each window, in one query; a window without events is 0."""
        ...


@cache
def _store(backend: str) -> EventStore:
    if backend == "clickhouse":
        from metering.store.clickhouse import ClickHouseEventStore, client_from_url

        return ClickHouseEventStore(client_from_url(settings.CLICKHOUSE_URL))
    from metering.store.postgres import PostgresEventStore

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
