"""Writing a fan-out's deliveries in one statement: the rows go as one array per column,
so the statement's text and the work of building it do not grow with the batch."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from billing.ids import public_ids
from webhooks.choices import DeliveryStatus
from webhooks.models import DELIVERY_ID_PREFIX, Delivery


class NewDelivery(NamedTuple):
    endpoint_id: str
    event_id: str
    object_id: str
    sequence: int


# A delivery that exists already for its (endpoint, event) is left as it is: a second
# fan-out of the same events adds nothing.
_SQL = f"""
INSERT INTO {Delivery._meta.db_table}
    (id, endpoint_id, event_id, object_id, sequence, status, attempts, retries_from,
     next_attempt_at, created_at, updated_at)
SELECT new.*, %(status)s, 0, 0, %(now)s, %(now)s, %(now)s
FROM unnest(%(ids)s::varchar[], %(endpoints)s::varchar[], %(events)s::varchar[],
    %(objects)s::varchar[], %(sequences)s::integer[])
    AS new (id, endpoint_id, event_id, object_id, sequence)
ON CONFLICT DO NOTHING
"""

_ROWS_SQL = f"""
INSERT INTO {Delivery._meta.db_table}
    (id, endpoint_id, event_id, object_id, sequence, status, attempts, next_attempt_at,
     created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, 0, %s, %s, %s)
ON CONFLICT DO NOTHING
"""


def insert_deliveries(deliveries: Sequence[NewDelivery], *, now: datetime) -> None:
    """Create these deliveries, pending and due `now`, unless they exist."""
    if not deliveries:
        return
    ids = public_ids(DELIVERY_ID_PREFIX, len(deliveries))
    if connection.vendor != "postgresql":
        # Arrays are PostgreSQL's; elsewhere (SQLite, as `make run` serves) the same rows
        # go one by one, in one call, the time written as the ORM writes it.
        at = connection.ops.adapt_datetimefield_value(now)
        rows = [
            (
                id_,
                d.endpoint_id,
                d.event_id,
                d.object_id,
                d.sequence,
                DeliveryStatus.PENDING.value,
                at,
                at,
                at,
            )
            for id_, d in zip(ids, deliveries, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.executemany(_ROWS_SQL, rows)
        return
    params: dict[str, Any] = {
        "status": DeliveryStatus.PENDING.value,
        "now": now,
        "ids": ids,
        "endpoints": [delivery.endpoint_id for delivery in deliveries],
        "events": [delivery.event_id for delivery in deliveries],
        "objects": [delivery.object_id for delivery in deliveries],
        "sequences": [delivery.sequence for delivery in deliveries],
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
