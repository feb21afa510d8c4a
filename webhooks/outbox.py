"""Taking events to publish from the outbox in one statement: the ones a message names,
and, up to a lease's worth, others still waiting for their own message. A burst of
events, each with its message, is then fanned out and sent a few at a time, and the
messages of events already taken find nothing to do."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from billing.models import Event
from billing.services.events import publication_time

_TABLE = Event._meta.db_table

# SKIP LOCKED throughout: an event another publication holds is being published by it
# (fan-out, lease and commit are one transaction), so it is neither waited for nor taken
# twice. Oldest first among the others, from the index of unpublished events. Marked
# published by the same statement: the fan-out follows in the same transaction.
_SQL = f"""
WITH named AS (
    SELECT id FROM {_TABLE}
    WHERE id = ANY(%(ids)s) AND published_at IS NULL
    FOR UPDATE SKIP LOCKED
), waiting AS (
    SELECT id FROM {_TABLE}
    WHERE published_at IS NULL AND NOT (id = ANY(%(ids)s))
    ORDER BY created_at
    LIMIT %(more)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {_TABLE} e SET published_at = GREATEST(%(now)s, e.created_at)
FROM (SELECT id FROM named UNION ALL SELECT id FROM waiting) taken
WHERE e.id = taken.id
RETURNING e.id, e.workspace_id, e.test_mode, e.type, e.object_id, e.sequence, e.published_at
"""


class TakenEvent(NamedTuple):
    """What a fan-out reads of an event taken (plain values: building model instances,
    with every column's data, cost more CPU than the statement)."""

    id: str
    workspace_id: str
    test_mode: bool
    type: str
    object_id: str
    sequence: int
    published_at: datetime


# Written out rather than built by the ORM: compiling the query cost more CPU than running
# it, on every publish message, most of which find nothing to take.
_ANY_UNPUBLISHED = f"SELECT 1 FROM {_TABLE} WHERE published_at IS NULL LIMIT 1"


def any_unpublished() -> bool:
    """Whether any event waits to be published, from the index of unpublished events:
    without one, a publish message has nothing to take and needs no transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_ANY_UNPUBLISHED)
        return cursor.fetchone() is not None


def take_unpublished(event_ids: Sequence[str], *, up_to: int, now: datetime) -> list[TakenEvent]:
    """Take these events unless published or held elsewhere, and other unpublished ones
    so that there are `up_to` in all (if these are fewer), marking them published `now`;
    in id order."""
    if connection.vendor != "postgresql":
        return _take_unpublished_one_writer(event_ids, up_to=up_to, now=now)
    params: dict[str, Any] = {
        "ids": list(event_ids),
        "more": max(up_to - len(event_ids), 0),
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        events = [TakenEvent(*row) for row in cursor.fetchall()]
    events.sort(key=lambda event: event.id)
    return events


def _take_unpublished_one_writer(
    event_ids: Sequence[str], *, up_to: int, now: datetime
) -> list[TakenEvent]:
    """`take_unpublished` where one transaction writes at a time (SQLite, as `make run`
    serves): no row can be held by another publication, so nothing is skipped."""
    unpublished = Event.objects.filter(published_at__isnull=True).order_by()
    named = list(unpublished.filter(id__in=list(event_ids)).values_list("id", flat=True))
    more = max(up_to - len(event_ids), 0)
    waiting = list(
        unpublished.exclude(id__in=list(event_ids))
        .order_by("created_at")
        .values_list("id", flat=True)[:more]
    )
    taken = named + waiting
    Event.objects.filter(id__in=taken).update(published_at=publication_time(now))
    fields = ("id", "workspace_id", "test_mode", "type", "object_id", "sequence", "published_at")
    events = [TakenEvent(*row) for row in Event.objects.filter(id__in=taken).values_list(*fields)]
    events.sort(key=lambda event: event.id)
    return events
