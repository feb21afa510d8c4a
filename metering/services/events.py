"""Ingesting usage events, one or a thousand at a time.

Validation is plain Python over the parsed JSON (no serializer per event: at 1,000
events a request a DRF field tree costs more than the insert). Each event ends
`accepted`, `duplicate` (its event_id was stored before, or earlier in the batch: it is
acknowledged and counted once) or `rejected` with the reason. Events naming a customer
that does not exist are stored and reported: they count once the customer exists with
that id or reference. An event a subscription's meter counts, for a period whose usage
that subscription has already invoiced (on a cycle's invoice or the final invoice of a
cancellation), is stored and reported as `late`; a finalized invoice never changes.

A number among an event's properties lies within a 64-bit integer's range, or the event
is rejected: beyond it no store writes an integer, and a meter's sum of them soon
outgrows an invoice line. Both routes read fractions as exact Decimals.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from itertools import chain, compress, repeat
from operator import and_, is_, itemgetter
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.db import connection

from billing.db import service_atomic
from billing.instants import INSTANT_FORMAT, instant_parse
from billing.models import Workspace
from metering.choices import (
    CUSTOMER_KEY_MAX_LENGTH,
    EVENT_ID_MAX_LENGTH,
    EVENT_NAME_MAX_LENGTH,
    EventOutcome,
)
from metering.event_customers_orm import event_customers_orm
from metering.selectors import BilledSpan, EventCustomer, event_customers
from metering.services.usage import RESERVED_EVENT_NAME, is_reserved_event_name
from metering.store import NewEvent, Tenant, distinct_text, event_store
from subscriptions.calendar import local_midnight

_FIELDS = frozenset({"event_id", "event_name", "customer", "timestamp", "properties"})
_FIELD_COUNT = len(_FIELDS)
# An event's fields, read in one call (five `dict.get` calls cost twice as much).
_EVERY_FIELD = itemgetter("event_id", "event_name", "customer", "timestamp", "properties")
# The earliest timestamp taken: one before it is a count in the wrong unit, most likely.
_YEAR_2000 = datetime(2000, 1, 1, tzinfo=UTC)
_DICT = frozenset({dict})
_EACH_FIELD = tuple(
    map(itemgetter, ("event_id", "event_name", "customer", "timestamp", "properties"))
)


class EventInvalid(Exception):
    """Why one event cannot be stored."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class Outcome(NamedTuple):
    """How an event ended."""

    status: str
    reason: str = ""
    customer_found: bool = False
    late: bool = False


class EventResult(NamedTuple):
    """How one event of a request ended, with its position and id."""

    position: int  # in the request (`index` would hide the tuple method)
    event_id: str | None
    status: str
    reason: str = ""
    customer_found: bool = False
    late: bool = False


# Every outcome of an event that was not rejected, made once: a batch's thousand events
# share them instead of each holding its own until the answer is written.
OUTCOMES = {
    (str(status), customer_found, late): Outcome(str(status), "", customer_found, late)
    for status in (EventOutcome.ACCEPTED, EventOutcome.DUPLICATE)
    for customer_found in (True, False)
    for late in (True, False)
}


# By (accepted, customer found), the outcome of an event that cannot be late.
_OUTCOME_OF = {
    (accepted, found): OUTCOMES[str(status), found, False]
    for accepted, status in ((True, EventOutcome.ACCEPTED), (False, EventOutcome.DUPLICATE))
    for found in (True, False)
}
_NEW_EVENT = frozenset({NewEvent})
# A NewEvent's fields read by position: an item of a tuple, not an attribute.
_EVENT_ID = itemgetter(NewEvent._fields.index("event_id"))
_CUSTOMER_KEY = itemgetter(NewEvent._fields.index("customer_key"))
_EVENT_NAME = itemgetter(NewEvent._fields.index("event_name"))
_PROPERTIES = itemgetter(NewEvent._fields.index("properties"))

# A property's number lies strictly within ±NUMBER_LIMIT (a 64-bit integer's range).
NUMBER_LIMIT = 2**63
_NUMBER_TYPES = frozenset({int, float, Decimal})
_NUMBER_BEYOND = f"A number between -{NUMBER_LIMIT - 1} and {NUMBER_LIMIT - 1} (64 bits)."


@dataclass
class IngestReport:
    event_ids: list[str | None]  # each event's, in the request's order (None: it has none)
    outcomes: list[Outcome]  # each event's, in the same order
    unknown_customers: list[str]
    accepted: int
    duplicate: int
    rejected: int
    late: int

    @property
    def results(self) -> list[EventResult]:
        return [
            EventResult(position, event_id, *outcome)
            for position, (event_id, outcome) in enumerate(
                zip(self.event_ids, self.outcomes, strict=True)
            )
        ]


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


def _timestamp(raw: Any, now: datetime, latest: datetime, zone: tzinfo) -> datetime:
    if raw is None:
        return now
    if not isinstance(raw, str):
        raise EventInvalid("timestamp", f"A date and time: {INSTANT_FORMAT}.")
    try:
        value = instant_parse(raw, zone)
    except ValueError as exc:
        raise EventInvalid("timestamp", str(exc)) from None
    if value > latest:
        raise EventInvalid("timestamp", f"{raw} is too far in the future.")
    if value < _YEAR_2000:
        raise EventInvalid("timestamp", f"{raw} is before 2000: check the unit.")
    return value


def latest_timestamp(now: datetime) -> datetime:
    """The latest timestamp an event sent at `now` may carry."""
    return now + timedelta(seconds=settings.EVENTS_MAX_FUTURE_SECONDS)


def event_parse(data: Any, *, now: datetime, zone: tzinfo = UTC) -> NewEvent:
    """One event from its JSON, or EventInvalid."""
    (parsed,) = events_parse([data], now=now, zone=zone)
    if type(parsed) is EventInvalid:
        raise parsed
    return parsed  # type: ignore[return-value]


def events_parse(
    events: Sequence[Any], *, now: datetime, zone: tzinfo = UTC
) -> list[NewEvent | EventInvalid]:
    """Each event from its JSON, or why it cannot be stored, in order. A timestamp
    without its UTC offset is a time in `zone`, the workspace's (billing.instants)."""
    latest = latest_timestamp(now)
    parsed = _events_well_formed(events, latest) or _events_one_by_one(events, now, latest, zone)
    return _numbers_in_range(_names_unreserved(parsed))


def _names_unreserved(parsed: list[NewEvent | EventInvalid]) -> list[NewEvent | EventInvalid]:
    """`parsed`, each event named in the usage records' namespace rejected: such an event
    would be billed on a usage-record line without being a record. The batch's names
    are read in loops in C; it is read event by event only when one is reserved."""
    valid = cast(
        Iterable[NewEvent], compress(parsed, map(is_, map(type, parsed), repeat(NewEvent)))
    )
    if not any(map(is_reserved_event_name, set(map(_EVENT_NAME, valid)))):
        return parsed
    return [
        EventInvalid("event_name", RESERVED_EVENT_NAME)
        if type(event) is NewEvent and is_reserved_event_name(event.event_name)
        else event
        for event in parsed
    ]


def _numbers_in_range(parsed: list[NewEvent | EventInvalid]) -> list[NewEvent | EventInvalid]:
    """`parsed`, each event with a property's number beyond NUMBER_LIMIT rejected, and one
    holding an integer no store can write deeper in its properties (the JSON parser keeps
    integers of any size; no meter reads them there). The properties' own values are read
    in loops in C: a batch is read event by event only when it holds such a number, or
    objects or arrays in its properties."""
    valid = cast(
        Iterable[NewEvent], compress(parsed, map(is_, map(type, parsed), repeat(NewEvent)))
    )
    values = list(chain.from_iterable(map(dict.values, map(_PROPERTIES, valid))))
    kinds = list(map(type, values))
    numbers = list(compress(values, map(_NUMBER_TYPES.__contains__, kinds)))
    in_range = not numbers or -NUMBER_LIMIT < min(numbers) <= max(numbers) < NUMBER_LIMIT
    if in_range and dict not in kinds and list not in kinds:
        return parsed
    return [_number_checked(event) for event in parsed]


def _number_checked(event: NewEvent | EventInvalid) -> NewEvent | EventInvalid:
    if type(event) is not NewEvent:
        return event
    for key, value in event.properties.items():
        if type(value) in _NUMBER_TYPES and not -NUMBER_LIMIT < value < NUMBER_LIMIT:
            return EventInvalid(f"properties.{key}", _NUMBER_BEYOND)
    try:
        orjson.dumps(event.properties, default=str)
    except TypeError:
        return EventInvalid("properties", _NUMBER_BEYOND)
    return event


def _events_well_formed(events: Sequence[Any], latest: datetime) -> list[NewEvent | EventInvalid]:
    """The events, when every one has its five fields and passes every check; else [].

    The checks run a field at a time over the whole batch, each a loop in C (`map`, `set`,
    `min`, `max`), where a loop in Python over a thousand events spent most of the
    worker's time on its own steps. Each is as strict as the one-by-one checks or
    stricter: a batch one of them refuses is checked again one by one, which names what
    is wrong."""
    if set(map(type, events)) != _DICT or set(map(len, events)) != {_FIELD_COUNT}:
        return []
    try:
        # Five fields each, all five known ones: none other.
        event_ids, event_names, customers, raws, properties = (
            list(map(field, events)) for field in _EACH_FIELD
        )
    except KeyError:
        return []
    try:
        if (
            set(map(type, properties)) != _DICT
            or max(map(len, event_ids)) > EVENT_ID_MAX_LENGTH
            or max(map(len, event_names)) > EVENT_NAME_MAX_LENGTH
            or max(map(len, customers)) > CUSTOMER_KEY_MAX_LENGTH
            # Every text a string (else a TypeError) with more than white space in it.
            or not all(map(str.strip, chain(event_ids, event_names, customers)))
        ):
            return []
        timestamps = list(map(datetime.fromisoformat, raws))  # strings, or a TypeError
        # A timestamp without its offset cannot be compared with one that has it: such
        # a batch is read one by one, where it is read in the workspace's timezone.
        if max(timestamps) > latest or min(timestamps) < _YEAR_2000:
            return []
    except (ValueError, TypeError):
        return []
    fields = zip(event_ids, event_names, customers, timestamps, properties, strict=True)
    # NewEvent's own constructor is a Python function: a call more per event.
    return list(map(tuple.__new__, repeat(NewEvent), fields))


def _events_one_by_one(
    events: Sequence[Any], now: datetime, latest: datetime, zone: tzinfo
) -> list[NewEvent | EventInvalid]:
    fromisoformat, new = datetime.fromisoformat, tuple.__new__
    parsed: list[NewEvent | EventInvalid] = []
    append = parsed.append
    for data in events:
        # A well-formed event passes every check below in one expression; anything else
        # goes to `_event_checked`, whose checks run one by one and name the first that
        # fails. Inline, since a batch runs this a thousand times and a call per field
        # costs more than its test.
        if type(data) is dict:
            if len(data) == _FIELD_COUNT:
                # The five fields in one call: a KeyError is an unknown field among five.
                try:
                    event_id, event_name, customer, raw, properties = _EVERY_FIELD(data)
                except KeyError:
                    event_id = None
            elif data.keys() <= _FIELDS:
                get = data.get
                event_id, event_name, customer = get("event_id"), get("event_name"), get("customer")
                raw, properties = get("timestamp"), get("properties")
            else:
                event_id = None
            if (
                type(event_id) is str
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
                if raw is None:
                    timestamp = now
                elif type(raw) is str:
                    try:
                        timestamp = fromisoformat(raw)
                    except ValueError:
                        timestamp = None
                    # `_timestamp`'s checks, without its messages; one without its
                    # offset is left to `_timestamp`, which reads it in `zone`.
                    if timestamp is not None and (
                        timestamp.tzinfo is None or timestamp > latest or timestamp < _YEAR_2000
                    ):
                        timestamp = None
                else:
                    timestamp = None
                if timestamp is not None:
                    # NewEvent's own constructor is a Python function: a call more per event.
                    event = (event_id, event_name, customer, timestamp, properties or {})
                    append(new(NewEvent, event))
                    continue
        try:
            append(_event_checked(data, now=now, latest=latest, zone=zone))
        except EventInvalid as exc:
            # Kept without its traceback, whose frames would hold this list: a cycle only
            # the collector could free.
            append(exc.with_traceback(None))
    return parsed


def _event_checked(
    data: Any, *, now: datetime, latest: datetime | None, zone: tzinfo = UTC
) -> NewEvent:
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
    event_id = _text(data, "event_id", EVENT_ID_MAX_LENGTH)
    event_name = _text(data, "event_name", EVENT_NAME_MAX_LENGTH)
    if is_reserved_event_name(event_name):
        raise EventInvalid("event_name", RESERVED_EVENT_NAME)
    return NewEvent(
        event_id=event_id,
        event_name=event_name,
        customer_key=_text(data, "customer", CUSTOMER_KEY_MAX_LENGTH),
        timestamp=_timestamp(data.get("timestamp"), now, latest or latest_timestamp(now), zone),
        properties=properties,
    )


def events_ingest(
    *, workspace: Workspace, test_mode: bool, events: Sequence[Any], now: datetime
) -> IngestReport:
    """Store the events of one request (see the module's docstring)."""
    parsed = events_parse(events, now=now, zone=ZoneInfo(workspace.timezone))
    batch: dict[str, NewEvent] = {}  # by event_id, the first of the request
    if set(map(type, parsed)) == _NEW_EVENT:
        # None rejected: each event's id, and its first, in loops in C.
        valid = cast(list[NewEvent], parsed)
        event_ids: list[str] = list(map(_EVENT_ID, valid))
        firsts = list(map(batch.setdefault, event_ids, valid))
    else:
        event_ids, firsts = [], []
        for event in parsed:
            if type(event) is NewEvent and event.event_id not in batch:
                batch[event.event_id] = event
    keys = set(map(_CUSTOMER_KEY, batch.values()))
    names = set(map(_EVENT_NAME, batch.values()))
    customers, stored = _customers_and_store(workspace, test_mode, keys, names, batch, now)
    # Per customer, what its subscriptions have invoiced of the meters counting the
    # batch's events, as instants in the workspace's timezone.
    invoiced = {
        found.customer_id: _invoiced(found.billed, workspace.timezone)
        for found in customers.values()
        if found.billed
    }
    # Every event kept names its first's customer: the unknown ones are the batch's.
    unknown = sorted(keys - customers.keys())
    if firsts and not invoiced:
        return _report_none_rejected(parsed, event_ids, firsts, stored, customers, unknown)
    return _report(events, parsed, batch, stored, customers, invoiced, unknown)


class _Invoiced(NamedTuple):
    """Usage a meter counts that is invoiced: its events in [start, end)."""

    event_name: str
    filters: tuple[tuple[str, frozenset[str]], ...]
    start: datetime
    end: datetime


def _invoiced(billed: Iterable[BilledSpan], timezone: str) -> list[_Invoiced]:
    """Spans of local dates as the instants they start and end at in `timezone`."""
    return [
        _Invoiced(
            span.event_name,
            span.filters,
            local_midnight(span.billed_from, timezone),
            local_midnight(span.billed_until, timezone),
        )
        for span in billed
    ]


def is_invoiced(event: NewEvent, billed: Iterable[BilledSpan], timezone: str) -> bool:
    """Whether `event` lies in usage already invoiced (`billed`: its customer's spans, in
    the workspace's `timezone`): what an event sent now is answered `late` for."""
    return _is_late(event, _invoiced(billed, timezone))


def _is_late(event: NewEvent, invoiced: list[_Invoiced]) -> bool:
    """Whether a meter that counts `event` has had the period of its timestamp invoiced."""
    properties = event.properties
    return any(
        span.event_name == event.event_name
        and span.start <= event.timestamp < span.end
        and all(distinct_text(properties.get(key)) in values for key, values in span.filters)
        for span in invoiced
    )


@service_atomic
def _customers_and_store(
    workspace: Workspace,
    test_mode: bool,
    keys: set[str],
    names: set[str],
    batch: dict[str, NewEvent],
    now: datetime,
) -> tuple[dict[str, EventCustomer], set[str]]:
    """The customers `keys` name with what is invoiced of the meters counting `names`,
    and the event_ids of the batch stored (not sent before). The read takes the tenant's
    usage lock, held until the commit: no cycle reads the tenant's usage in between, so
    each event stored here is either counted by the next cycle or answered late.

    The insert goes last: a concurrent batch sending the same new event_ids waits on these
    keys until this transaction commits. Outside a request's transaction (the events
    views without an Idempotency-Key) it commits here, and the outcomes are worked out
    after, while nothing is held."""
    store = event_store()
    # SQLite has neither LATERAL nor jsonb: the same answer is read with the ORM there.
    read = event_customers if connection.vendor == "postgresql" else event_customers_orm
    customers = read(workspace_id=workspace.pk, test_mode=test_mode, keys=keys, event_names=names)
    tenant = Tenant(workspace_id=workspace.pk, test_mode=test_mode)
    stored = store.insert(tenant=tenant, events=list(batch.values()), received_at=now)
    return customers, stored


def _report_none_rejected(
    parsed: list[NewEvent | EventInvalid],
    event_ids: list[str],
    firsts: list[NewEvent],
    stored: set[str],
    customers: dict[str, EventCustomer],
    unknown_customers: list[str],
) -> IngestReport:
    """`_report` where no event was rejected and none can be late (no customer of the
    batch has invoiced usage): each step a loop in C over the batch."""
    # An event is accepted when it is its id's first and was stored.
    accepted = list(map(and_, map(is_, firsts, parsed), map(stored.__contains__, event_ids)))
    found = map(customers.__contains__, map(_CUSTOMER_KEY, firsts))
    outcomes = list(map(_OUTCOME_OF.__getitem__, zip(accepted, found, strict=True)))
    accepted_count = accepted.count(True)
    return IngestReport(
        event_ids=cast(list[str | None], event_ids),
        outcomes=outcomes,
        unknown_customers=unknown_customers,
        accepted=accepted_count,
        duplicate=len(parsed) - accepted_count,
        rejected=0,
        late=0,
    )


def _report(
    events: Sequence[Any],
    parsed: list[NewEvent | EventInvalid],
    batch: dict[str, NewEvent],
    stored: set[str],
    customers: dict[str, EventCustomer],
    invoiced: dict[str, list[_Invoiced]],
    unknown_customers: list[str],
) -> IngestReport:
    """Each event's outcome. An event_id sent again in the request is a duplicate of its
    first, whose customer and timestamp it is reported with."""
    # Outcomes as plain strings in locals: this loop runs a thousand times a request.
    accepted, duplicate, rejected = (
        str(EventOutcome.ACCEPTED), str(EventOutcome.DUPLICATE), str(EventOutcome.REJECTED),
    )  # fmt: skip
    outcomes = OUTCOMES
    # An unknown customer's event's outcome, by whether it was accepted.
    unknown_outcome = (outcomes[duplicate, False, False], outcomes[accepted, False, False])
    event_ids: list[str | None] = []
    kept: list[Outcome] = []
    add_id, add_outcome = event_ids.append, kept.append
    accepted_count = rejected_count = late_count = 0
    for index, event in enumerate(parsed):
        if type(event) is EventInvalid:
            data = events[index]
            raw_id = data.get("event_id") if isinstance(data, dict) else None
            add_id(raw_id if isinstance(raw_id, str) else None)
            add_outcome(Outcome(rejected, f"{event.field}: {event.message}"))
            rejected_count += 1
            continue
        event_id = event.event_id  # type: ignore[union-attr]
        add_id(event_id)
        first = batch[event_id]
        is_accepted = first is event and event_id in stored
        accepted_count += is_accepted
        found = customers.get(first.customer_key)
        if found is None:
            add_outcome(unknown_outcome[is_accepted])
            continue
        late = False
        spans = invoiced.get(found.customer_id) if invoiced else None
        if spans is not None:
            late = _is_late(first, spans)
            late_count += late
        add_outcome(outcomes[accepted if is_accepted else duplicate, True, late])
    return IngestReport(
        event_ids=event_ids,
        outcomes=kept,
        unknown_customers=unknown_customers,
        accepted=accepted_count,
        duplicate=len(parsed) - accepted_count - rejected_count,
        rejected=rejected_count,
        late=late_count,
    )
