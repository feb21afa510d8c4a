"""Sweeps that enqueue each piece of work at most once while it is in flight.

A beat sweep finds work that is due and queues a task for each piece. Without a mark, a
worker that falls behind sees the same pieces queued again on every sweep, and the
broker fills with copies. `claim_for_enqueue` stamps `enqueued_at` on the rows it picks
in the UPDATE … RETURNING that selects them, so concurrent sweeps split the work and a
later sweep skips it; the task releases the mark when it takes the piece up (or the
piece stops being due), and a mark older than the lease counts as lost (the message
was dropped) so the piece is queued again.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection
from django.db.models import Field, Model, Q, QuerySet
from django.db.models.expressions import Combinable


def enqueue_lease() -> timedelta:
    return timedelta(seconds=settings.SWEEP_ENQUEUE_LEASE_SECONDS)


def claim_for_enqueue(
    due: QuerySet[Model],
    *,
    now: datetime,
    limit: int,
    order_by: Sequence[str | Combinable],
    field: str,
) -> list[str]:
    """Mark up to `limit` rows of `due` not already in flight (`field` empty or older
    than the lease) as enqueued at `now`; their primary keys, in `order_by` order."""
    model = due.model
    candidates = (
        due.filter(Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lte": now - enqueue_lease()}))
        .order_by(*order_by)
        .select_for_update(skip_locked=True, of=("self",))
        .values("pk")[:limit]
    )
    select_sql, params = candidates.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(str(cast(Field, model._meta.get_field(field)).column))
    pk = connection.ops.quote_name(str(cast(Field, model._meta.pk).column))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s WHERE {pk} IN ({select_sql}) RETURNING {pk}",
            [now, *params],
        )
        claimed = {row[0] for row in cursor.fetchall()}
    if not claimed:
        return []
    ordered = model._default_manager.filter(pk__in=claimed).order_by(*order_by)
    return [str(pk) for pk in ordered.values_list("pk", flat=True)]
