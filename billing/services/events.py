"""The outbox: domain events recorded with the change, published after commit."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Field, Max, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from kombu import Producer

from billing.bulk import any_of, bulk_insert, copy_rows
from billing.db import column_value
from billing.ids import public_ids
from billing.models import Event, Workspace
from billing.queueing import message_reprs, send_or_fail
from billing.sweeps import claim_for_enqueue

# Concurrent writers of one object's events race for the next sequence number; the
# unique constraint picks a winner and the loser takes the next number.
_SEQUENCE_ATTEMPTS = 5


def event_record(
    *, workspace: Workspace, test_mode: bool, type: str, object_id: str, data: dict[str, Any]
) -> Event:
    """Record a domain event in the caller's transaction and publish it once that commits.

    Called from inside the service that makes the change, so the event exists if and only
    if the change was committed.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must run inside the transaction of the change")
    event = Event(workspace=workspace, test_mode=test_mode, object_id=object_id, type=type,
                  data=data)  # fmt: skip
    for _attempt in range(_SEQUENCE_ATTEMPTS):
        sequence = _insert_next(event)
        if sequence is not None:
            break
    else:
        raise IntegrityError(f"No free event sequence for {object_id} after {_SEQUENCE_ATTEMPTS}")
    return event_recorded(event, sequence)


def _insert_next(event: Event) -> int | None:
    """Insert the event as its object's next in one statement; None when a concurrent
    writer took that sequence first (no error, so no savepoint is needed to go on)."""
    sql, params = event_insert_statement(event)
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def event_insert_statement(
    event: Event, *, data_key: tuple[str, str] | None = None, only_if: str = ""
) -> tuple[str, list[Any]]:
    """The INSERT of `_insert_next`, returning the new sequence, for PostgreSQL to run
    alone or as part of a larger statement. `data_key`: a key of the data and the SQL
    of its value, set by the statement (a value only the database knows yet, e.g. a
    number taken in the same statement); `only_if`: SQL that must hold for the event to
    be inserted at all."""
    connection = transaction.get_connection()
    sql, columns = _insert_sql(data_key, only_if, connection.vendor)
    for field in columns:
        field.pre_save(event, add=True)  # created_at, updated_at
    values = [column_value(field, getattr(event, field.attname), connection) for field in columns]
    return sql, [*values, event.workspace_id, event.test_mode, event.object_id]


@cache
def _insert_sql(
    data_key: tuple[str, str] | None, only_if: str, vendor: str
) -> tuple[str, list[Field]]:
    # The same for every event recorded the same way: made once, as its text is long.
    connection = transaction.get_connection()
    columns = [f for f in Event._meta.concrete_fields if f.attname != "sequence"]
    table = connection.ops.quote_name(Event._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    # Typed placeholders: a NULL in a SELECT list would otherwise be text to PostgreSQL.
    typed = vendor == "postgresql"
    placeholders = [
        f"CAST(%s AS {field.db_type(connection)})" if typed else "%s" for field in columns
    ]
    if data_key is not None:
        key, value_sql = data_key
        data = next(i for i, field in enumerate(columns) if field.attname == "data")
        placeholders[data] = f"jsonb_set({placeholders[data]}, '{{{key}}}', to_jsonb({value_sql}))"
    having = f" HAVING {only_if}" if only_if else ""
    sql = (
        f"INSERT INTO {table} ({names}, sequence) "
        f"SELECT {', '.join(placeholders)}, COALESCE(MAX(sequence), 0) + 1 FROM {table} "
        f"WHERE workspace_id = %s AND test_mode = %s AND object_id = %s{having} "
        "ON CONFLICT DO NOTHING RETURNING sequence"
    )
    return sql, columns


def event_recorded(event: Event, sequence: int) -> Event:
    """Mark an event inserted by `event_insert_statement` as recorded: saved, and
    published once the transaction commits."""
    event.sequence = sequence
    event._state.adding = False
    event._state.db = "default"
    transaction.on_commit(lambda: event_publish(event_id=event.id))
    return event


@dataclass(frozen=True)
class NewEvent:
    type: str
    object_id: str
    data: dict[str, Any]


def event_record_many(
    *,
    workspace: Workspace,
    test_mode: bool,
    events: Sequence[NewEvent],
    publish: Callable[[list[str]], None] | None = None,
) -> int:
    """`event_record` for a batch of one tenant's events, in a few queries.

    For batch writers (billing cycles) that hold a lock on every object they record for,
    so no one else writes these objects' events meanwhile: each object's next sequence is
    read once. The unique constraint still refuses a duplicate, failing the batch. After
    commit the events are handed to `publish` (e.g. one task that publishes them all, so a
    batch of thousands does not wait for thousands of broker round trips), or published
    one by one as `event_record` does.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record_many must run inside the transaction of the change")
    if not events:
        return 0
    scope = {"workspace": workspace, "test_mode": test_mode}
    last = dict(
        Event.objects.filter(**scope, object_id__in={e.object_id for e in events})
        .values("object_id")
        .annotate(last=Max("sequence"))
        .values_list("object_id", "last")
    )
    rows = []
    for new in events:
        last[new.object_id] = sequence = last.get(new.object_id, 0) + 1
        rows.append(Event(**scope, type=new.type, object_id=new.object_id, sequence=sequence,
                          data=new.data))  # fmt: skip
    bulk_insert(Event, rows)
    ids = [row.id for row in rows]
    hand_over = publish or (lambda event_ids: events_publish_many(event_ids=event_ids))
    transaction.on_commit(lambda: hand_over(ids))
    return len(rows)


_EVENT_COLUMNS = [
    "id", "workspace_id", "test_mode", "object_id", "type", "sequence", "data", "metadata",
    "created_at", "updated_at",
]  # fmt: skip


def event_record_rows(
    *,
    workspace_id: str,
    test_mode: bool,
    events: Sequence[NewEvent],
    publish: Callable[[list[str]], None] | None = None,
    collect: list[str] | None = None,
    new_objects: bool = False,
) -> list[str]:
    """`event_record_many` written as rows (COPY, ids made in bulk), with no Event
    instances: for a cycle recording thousands. The same locking premise and the same
    stored rows; returns the new events' ids.

    With `collect`, the ids are added to it and the caller publishes them after commit
    (one hand-over for all a transaction records). `new_objects`: the objects were
    created in this transaction, so none has an earlier event to read the sequence of."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record_rows must run inside the transaction of the change")
    if not events:
        return []
    last: dict[str, int] = {}
    if not new_objects:
        last = dict(
            Event.objects.filter(
                workspace_id=workspace_id,
                test_mode=test_mode,
                object_id__in=any_of({e.object_id for e in events}),
            )
            .values("object_id")
            .annotate(last=Max("sequence"))
            .values_list("object_id", "last")
        )
    ids = public_ids("evt", len(events))
    now = timezone.now()
    rows: list[tuple[object, ...]] = []
    for event_id, new in zip(ids, events, strict=True):
        last[new.object_id] = sequence = last.get(new.object_id, 0) + 1
        rows.append((event_id, workspace_id, test_mode, new.object_id, new.type, sequence,
                     new.data, {}, now, now))  # fmt: skip
    copy_rows(Event, _EVENT_COLUMNS, rows)
    if collect is not None:
        collect.extend(ids)
        return ids
    hand_over = publish or (lambda event_ids: events_publish_many(event_ids=event_ids))
    transaction.on_commit(lambda: hand_over(ids))
    return ids


def events_publish_many(*, event_ids: Sequence[str]) -> None:
    for event_id in event_ids:
        event_publish(event_id=event_id)


def event_publish(*, event_id: str) -> None:
    """Hand the event to every publisher task named in settings.EVENT_PUBLISHERS.

    Publishers are named, not imported, so the kernel never depends on the apps that
    consume its events. A failure to reach the broker is left to the beat sweep.
    """
    kwargs = {"event_id": event_id}
    reprs = message_reprs(kwargs)

    def send_to_every_publisher(producer: Producer) -> None:
        for task_name in settings.EVENT_PUBLISHERS:
            current_app.send_task(task_name, kwargs=kwargs, retry=False, producer=producer,
                                  **reprs)  # fmt: skip

    try:
        # One try at the broker for all publishers: a failed one costs each the same wait.
        send_or_fail(send_to_every_publisher)
    except Exception:  # the broker is down: events_publish_pending picks it up later
        return


def events_publish_pending(*, now: datetime, older_than: timedelta, limit: int = 500) -> int:
    """Publish events that were committed but never published (the process died first)."""
    with transaction.atomic():
        pending = claim_for_enqueue(
            Event.objects.filter(published_at__isnull=True, created_at__lte=now - older_than),
            now=now,
            limit=limit,
            order_by=("created_at", "id"),
            field="enqueued_at",
        )
    for event_id in pending:
        event_publish(event_id=event_id)
    return len(pending)


def publication_time(now: datetime) -> Greatest:
    """An event's `published_at` as an update sets it: `now`, but never before the event
    was created (a caller's `now`, read before the event was inserted, may be earlier)."""
    return Greatest(Value(now), F("created_at"))


def event_mark_published(*, event_id: str, now: datetime) -> None:
    Event.objects.filter(pk=event_id, published_at__isnull=True).update(
        published_at=publication_time(now)
    )
