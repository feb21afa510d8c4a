"""Taking events to publish from the outbox in one statement: the ones a message names,
and, up to a lease's worth, others still waiting for their own message. A burst of
events, each with its message, is then fanned out and sent a few at a time, and the
messages of events already taken find nothing to do."""

from collections.abc import Sequence

from billing.models import Event

_TABLE = Event._meta.db_table

# SKIP LOCKED throughout: an event another publication holds is being published by it
# (fan-out, lease and commit are one transaction), so it is neither waited for nor taken
# twice. Oldest first among the others, from the index of unpublished events.
_SQL = f"""
WITH named AS (
    SELECT * FROM {_TABLE}
    WHERE id = ANY(%(ids)s) AND published_at IS NULL
    FOR UPDATE SKIP LOCKED
), waiting AS (
    SELECT * FROM {_TABLE}
    WHERE published_at IS NULL AND NOT (id = ANY(%(ids)s))
    ORDER BY created_at
    LIMIT %(more)s
    FOR UPDATE SKIP LOCKED
)
SELECT * FROM named UNION ALL SELECT * FROM waiting
"""


def take_unpublished(event_ids: Sequence[str], *, up_to: int) -> list[Event]:
    """Lock these events unless published or held elsewhere, and other unpublished ones
    so that there are `up_to` in all (if these are fewer); in id order."""
    params = {"ids": list(event_ids), "more": max(up_to - len(event_ids), 0)}
    events = list(Event.objects.raw(_SQL, params))
    events.sort(key=lambda event: event.pk)
    return events
