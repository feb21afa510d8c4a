"""The event store's interface: what is written, what is asked, and the `EventStore`
protocol both implementations follow."""

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import orjson


class NewEvent(NamedTuple):
    """One event to store. A named tuple, not a dataclass: a batch makes a thousand, and a
    frozen dataclass costs several times more to build."""

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
    # ((key, (value, …)), …): each key's property is one of its values (`filter_texts`).
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Piriod's usage records: an event whose `action` property is "set" starts the
    # window's value over from itself. Events ordered before it (by timestamp, then
    # event_id, the order `latest` reads) no longer count; later ones add to it.
    resets: bool = False


def property_text(value: Any) -> str | None:
    """An event's property as text, as PostgreSQL's `->>` reads it from the stored JSON (a
    string as itself, a number as its plain decimal, true or false, an array or object as
    jsonb writes it); None for a null or a missing one, which no filter value matches."""
    if value is None:
        return None
    if type(value) is str:
        return value
    return _jsonb_text(value)


def distinct_text(value: Any) -> str | None:
    """An event's property as `unique_count`, group-by and filters tell its values apart:
    its `property_text`, but a number written in its shortest plain form, so that one
    number is one value however it was sent (1, 1.0 and 1e0 as "1"; 1.50 as "1.5"). A
    string stays as sent: "1.0" is not the number 1, while "7" is the number 7."""
    if type(value) is int or isinstance(value, Decimal | float):
        return number_text(value)
    return property_text(value)


def number_text(value: int | Decimal | float) -> str:
    """A JSON number in its shortest plain decimal form: no exponent, no trailing zero
    after the point, no point when whole, and 0 for any zero."""
    if type(value) is int:
        return str(value)
    number = value if isinstance(value, Decimal) else Decimal(orjson.dumps(value).decode())
    if not number:
        return "0"
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # a JSON number is finite
    kept = len(digits)
    while kept > 1 and exponent < 0 and digits[kept - 1] == 0:
        kept, exponent = kept - 1, exponent + 1
    return format(Decimal((sign, digits[:kept], exponent)), "f")


# A filter's value written as a JSON number, but for an exponent (which might ask for
# millions of zeros).
_FILTER_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def filter_texts(values: Iterable[str]) -> tuple[str, ...]:
    """A filter's values as an event's `distinct_text` is looked up among them: each as
    written and, one written as a number, that number as `number_text` writes it. So the
    value "1.0" keeps the numbers 1, 1.0 and 1e0 and the string "1.0"; "007" only the
    string "007"."""
    texts = dict.fromkeys(values)
    for value in list(texts):
        if _FILTER_NUMBER.fullmatch(value):
            texts.setdefault(number_text(Decimal(value)))
    return tuple(texts)


def _jsonb_text(value: Any) -> str:
    """`value` as jsonb's text output writes it: numbers as numeric (`1E+2` as 100, `1.50`
    keeping its scale), object keys by length then bytes, ", " and ": " between items."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if isinstance(value, Decimal | float):
        # A float as the literal orjson writes for it, read as jsonb reads a number.
        number = value if isinstance(value, Decimal) else Decimal(orjson.dumps(value).decode())
        return format(number, "f")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_jsonb_text, value)) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return (
            "{" + ", ".join(f"{_jsonb_text(key)}: {_jsonb_text(value[key])}" for key in keys) + "}"
        )
    raise TypeError(f"{type(value).__name__} is not JSON")


# The property and value of an event that starts a window's value over (MeterSpec.resets).
RESET_PROPERTY = "action"
RESET_VALUE = "set"


@dataclass(frozen=True)
class Window:
    """One customer's events in [start, end), reported under `key`: the events of any of
    `customer_keys` (its id and its reference). Windows that share a key (a subscription's
    usage outside its pauses) are counted as one: they must not overlap."""

    key: str
    customer_keys: tuple[str, ...]
    start: datetime
    end: datetime


def window_rows(windows: Sequence[Window]) -> list[tuple[str, str, datetime, datetime]]:
    """(window key, customer key, start, end) of each window and each of its keys, each row
    once: a store joins an event to every row it matches, so a key given twice (a
    customer whose reference is its own id) would count its events twice."""
    return list(
        dict.fromkeys((w.key, key, w.start, w.end) for w in windows for key in w.customer_keys)
    )


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

    def delete(self, *, tenant: Tenant, event: NewEvent) -> bool:
        """Remove the stored event `event.event_id`, looked up where its customer_key,
        event_name and timestamp place it (no index reads event ids alone; its properties
        are not compared); whether it was there. Its key stays: the id is never stored
        again, so a deleted event is not counted again whoever sends it."""
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

    def top_customer_keys(
        self, *, tenant: Tenant, meter: MeterSpec, start: datetime, end: datetime, limit: int
    ) -> list[UsageRow]:
        """The `limit` customer keys of greatest value in [start, end) (group: the key),
        greatest first, ties by key; aggregated, ordered and cut in one query."""
        ...
