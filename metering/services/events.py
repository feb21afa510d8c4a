"""Ingesting usage events, one or a thousand at a time.

Validation is plain Python over the parsed JSON (no serializer per event: at 1,000
events a request a DRF field tree costs more than the insert). Each event ends
`accepted`, `duplicate` (its event_id was stored before, or earlier in the batch: it is
acknowledged and counted once) or `rejected` with the reason. Events naming a customer
that does not exist are stored and reported: they count once the customer exists with
that id or reference. Events for a period whose usage is already invoiced (by a cycle
or by the final invoice of a cancellation) are stored and reported as `late`; a
finalized invoice never changes.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from billing.db import service_atomic
from billing.models import Workspace
from metering.choices import (
    CUSTOMER_KEY_MAX_LENGTH,
    EVENT_ID_MAX_LENGTH,
    EVENT_NAME_MAX_LENGTH,
    EventOutcome,
)
from metering.selectors import event_customers
from metering.store import NewEvent, Tenant, event_store
from subscriptions.calendar import local_midnight

_FIELDS = frozenset({"event_id", "event_name", "customer", "timestamp", "properties"})


class EventInvalid(Exception):
    """Why one event cannot be stored."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(slots=True)
class EventResult:
    index: int
    event_id: str | None
    status: str
    reason: str = ""
    customer_found: bool = False
    late: bool = False


@dataclass
class IngestReport:
    results: list[EventResult]
    unknown_customers: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)


def _text(data: dict[str, Any], name: str, max_length: int) -> str:
    value = data.get(name)
    # One test for the common case; `not value or value.isspace()` is `not value.strip()`
    # without a new string.
    if type(value) is str and 0 < len(value) <= max_length and not value.isspace():
        return value
    if not isinstance(value, str) or not value or value.isspace():
        raise EventInvalid(name, "Required: a non-empty string.")
    if len(value) > max_length:
        raise EventInvalid(name, f"At most {max_length} characters.")
    return value


def _timestamp(raw: Any, now: datetime, latest: datetime) -> datetime:
    if raw is None:
        return now
    if not isinstance(raw, str):
        raise EventInvalid("timestamp", "An ISO 8601 date and time with its UTC offset.")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise EventInvalid(
            "timestamp", "An ISO 8601 date and time with its UTC offset, e.g. 2026-12-04T10:00:00Z."
        ) from None
    if value.tzinfo is None:
        raise EventInvalid("timestamp", "Give the UTC offset (…Z or …+00:00).")
    if value > latest:
        raise EventInvalid("timestamp", f"{raw} is too far in the future.")
    if value.year < 2000:
        raise EventInvalid("timestamp", f"{raw} is before 2000: check the unit.")
    return value


def latest_timestamp(now: datetime) -> datetime:
    """The latest timestamp an event sent at `now` may carry."""
    return now + timedelta(seconds=settings.EVENTS_MAX_FUTURE_SECONDS)


def event_parse(data: Any, *, now: datetime, latest: datetime | None = None) -> NewEvent:
    """One event from its JSON, or EventInvalid. `latest`: latest_timestamp(now), passed
    by a caller parsing many."""
    # A well-formed event passes every check below in one expression; anything else goes
    # to `_event_checked`, whose checks run one by one and name the first that fails.
    # Inline, since a batch runs this a thousand times and a call per field costs more
    # than its test.
    if type(data) is dict:
        get = data.get
        event_id, event_name, customer = get("event_id"), get("event_name"), get("customer")
        properties, raw = get("properties"), get("timestamp")
        if (
            # Five fields, all of them present (not None): no unknown one among them.
            (
                (len(data) == len(_FIELDS) and properties is not None and raw is not None)
                or data.keys() <= _FIELDS
            )
            and type(event_id) is str
            and type(event_name) is str
            and type(customer) is str
            and 0 < len(event_id) <= EVENT_ID_MAX_LENGTH
            and 0 < len(event_name) <= EVENT_NAME_MAX_LENGTH
            and 0 < len(customer) <= CUSTOMER_KEY_MAX_LENGTH
            and not event_id.isspace()
            and not event_name.isspace()
            and not customer.isspace()
            and (type(properties) is dict or properties is None)
        ):
            timestamp = _timestamp_or_none(raw, now, latest or latest_timestamp(now))
            if timestamp is not None:
                return NewEvent(event_id, event_name, customer, timestamp, properties or {})
    return _event_checked(data, now=now, latest=latest)


def _timestamp_or_none(raw: Any, now: datetime, latest: datetime) -> datetime | None:
    """`_timestamp`'s answer for a timestamp it accepts; None for one it refuses."""
    if raw is None:
        return now
    if type(raw) is not str:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if value.tzinfo is None or value > latest or value.year < 2000:
        return None
    return value


def _event_checked(data: Any, *, now: datetime, latest: datetime | None) -> NewEvent:
    if not isinstance(data, dict):
        raise EventInvalid("non_field_errors", "An event is a JSON object.")
    if not data.keys() <= _FIELDS:
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        raise EventInvalid(unknown[0], "Unknown field.")
    properties = data.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise EventInvalid("properties", "A JSON object.")
    return NewEvent(
        event_id=_text(data, "event_id", EVENT_ID_MAX_LENGTH),
        event_name=_text(data, "event_name", EVENT_NAME_MAX_LENGTH),
        customer_key=_text(data, "customer", CUSTOMER_KEY_MAX_LENGTH),
        timestamp=_timestamp(data.get("timestamp"), now, latest or latest_timestamp(now)),
        properties=properties,
    )


@service_atomic
def events_ingest(
    *, workspace: Workspace, test_mode: bool, events: Sequence[Any], now: datetime
) -> IngestReport:
    """Store the events of one request (see the module's docstring)."""
    # Outcomes as plain strings in locals: this loop runs a thousand times a request.
    accepted, duplicate, rejected = (
        str(EventOutcome.ACCEPTED), str(EventOutcome.DUPLICATE), str(EventOutcome.REJECTED),
    )  # fmt: skip
    results: list[EventResult] = []
    batch: dict[str, NewEvent] = {}  # by event_id, the first of the request
    latest = latest_timestamp(now)
    for index, data in enumerate(events):
        try:
            event = event_parse(data, now=now, latest=latest)
        except EventInvalid as exc:
            raw_id = data.get("event_id") if isinstance(data, dict) else None
            event_id = raw_id if isinstance(raw_id, str) else None
            reason = f"{exc.field}: {exc.message}"
            results.append(EventResult(index, event_id, rejected, reason))
            continue
        if event.event_id in batch:
            results.append(EventResult(index, event.event_id, duplicate))
            continue
        batch[event.event_id] = event
        results.append(EventResult(index, event.event_id, accepted))
    customers = event_customers(
        workspace_id=workspace.pk,
        test_mode=test_mode,
        keys={e.customer_key for e in batch.values()},
    )
    # Per customer, the span whose usage is invoiced (a first cycle follows no period:
    # usage before it is never billed), as instants in the workspace's timezone.
    invoiced = {
        found.customer_id: (
            local_midnight(found.billed_from, workspace.timezone),
            local_midnight(found.billed_until, workspace.timezone),
        )
        for found in customers.values()
        if found.billed_from is not None and found.billed_until is not None
    }
    # The insert goes last: a concurrent batch sending the same new event_ids waits on
    # these keys until this transaction commits, so nothing else runs while they are held.
    tenant = Tenant(workspace_id=workspace.pk, test_mode=test_mode)
    stored = event_store().insert(tenant=tenant, events=list(batch.values()), received_at=now)
    unknown: set[str] = set()
    for result in results:
        if result.status == rejected:
            continue
        event = batch[result.event_id]  # type: ignore[index]  # not rejected: it has an id
        if result.status == accepted and event.event_id not in stored:
            result.status = duplicate
        found = customers.get(event.customer_key)
        if found is None:
            unknown.add(event.customer_key)
            continue
        result.customer_found = True
        customer_id = found.customer_id
        if customer_id in invoiced:
            first, last = invoiced[customer_id]
            result.late = first <= event.timestamp < last
    return IngestReport(results=results, unknown_customers=sorted(unknown))
