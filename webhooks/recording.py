"""Recording successful attempts in one statement: a delivery is one HTTP call plus this
round trip, whatever the number of deliveries in the batch."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from webhooks.choices import OPEN_STATUSES, DeliveryStatus
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint


class Success(NamedTuple):
    delivery_id: str
    attempt: int
    status_code: int
    duration_ms: int
    error: str
    response_body: str


_ROW = "(%s::varchar, %s::integer, %s::integer, %s::integer, %s::varchar, %s::varchar)"

# `ours`: the deliveries still held by these attempts (an attempt whose lease ran out was
# taken over by another, whose outcome is kept), locked in one order for every batch so
# two batches cannot deadlock. Each is marked succeeded and its attempt logged; an
# endpoint's row is touched only when a failure streak ends (every delivery to it would
# otherwise queue on that one row). The final SELECT reads the rows as they were before
# the statement, so the deliveries just recorded are left out by id: what remains is each
# object's next open delivery, which may be sent now.
_SQL = f"""
WITH attempts (delivery_id, number, status_code, duration_ms, error, response_body) AS (
    VALUES {{rows}}
), ours AS (
    SELECT d.id FROM {Delivery._meta.db_table} d
    JOIN attempts a ON a.delivery_id = d.id AND a.number = d.attempts
    WHERE d.status = %s
    ORDER BY d.id
    FOR UPDATE OF d
), done AS (
    UPDATE {Delivery._meta.db_table} d
    SET status = %s, next_attempt_at = NULL, lease_expires_at = NULL,
        last_status_code = a.status_code, updated_at = %s
    FROM ours JOIN attempts a ON a.delivery_id = ours.id
    WHERE d.id = ours.id
    RETURNING d.id, d.endpoint_id, d.object_id
), logged AS (
    INSERT INTO {DeliveryAttempt._meta.db_table}
        (delivery_id, number, attempted_at, status_code, duration_ms, error, response_body)
    SELECT a.delivery_id, a.number, %s, a.status_code, a.duration_ms, a.error,
        a.response_body
    FROM attempts a JOIN done ON done.id = a.delivery_id
), streak_ended AS (
    UPDATE {WebhookEndpoint._meta.db_table}
    SET consecutive_failures = 0, updated_at = %s
    WHERE id IN (SELECT endpoint_id FROM done) AND consecutive_failures > 0
)
SELECT DISTINCT ON (n.endpoint_id, n.object_id) n.id
FROM {Delivery._meta.db_table} n
JOIN (SELECT DISTINCT endpoint_id, object_id FROM done) p
    ON p.endpoint_id = n.endpoint_id AND p.object_id = n.object_id
WHERE n.status = ANY(%s) AND n.id NOT IN (SELECT id FROM done)
ORDER BY n.endpoint_id, n.object_id, n.sequence, n.id
"""


def record_successes(successes: Sequence[Success], now: datetime) -> list[str]:
    """Mark these attempts' deliveries succeeded and log the attempts; each recorded
    object's next open delivery for its endpoint (to send now)."""
    if not successes:
        return []
    if connection.vendor != "postgresql":
        return _record_one_writer(successes, now)
    params: list[Any] = [value for success in successes for value in success]
    params += [DeliveryStatus.SENDING.value, DeliveryStatus.SUCCEEDED.value, now, now, now]
    params.append([str(status) for status in OPEN_STATUSES])
    with connection.cursor() as cursor:
        cursor.execute(_SQL.format(rows=", ".join([_ROW] * len(successes))), params)
        return [row[0] for row in cursor.fetchall()]


def _record_one_writer(successes: Sequence[Success], now: datetime) -> list[str]:
    """`record_successes` where one transaction writes at a time (SQLite, as `make run`
    serves): the same rows written through the ORM."""
    by_delivery = {success.delivery_id: success for success in successes}
    held = Delivery.objects.filter(id__in=list(by_delivery), status=DeliveryStatus.SENDING.value)
    done = [
        (delivery_id, endpoint_id, object_id)
        for delivery_id, attempts, endpoint_id, object_id in held.values_list(
            "id", "attempts", "endpoint_id", "object_id"
        )
        if by_delivery[delivery_id].attempt == attempts
    ]
    for delivery_id, _, _ in done:
        Delivery.objects.filter(id=delivery_id).update(
            status=DeliveryStatus.SUCCEEDED.value,
            next_attempt_at=None,
            lease_expires_at=None,
            last_status_code=by_delivery[delivery_id].status_code,
            updated_at=now,
        )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=delivery_id,
            number=by_delivery[delivery_id].attempt,
            attempted_at=now,
            status_code=by_delivery[delivery_id].status_code,
            duration_ms=by_delivery[delivery_id].duration_ms,
            error=by_delivery[delivery_id].error,
            response_body=by_delivery[delivery_id].response_body,
        )
        for delivery_id, _, _ in done
    )
    endpoints = {endpoint_id for _, endpoint_id, _ in done}
    WebhookEndpoint.objects.filter(id__in=endpoints, consecutive_failures__gt=0).update(
        consecutive_failures=0, updated_at=now
    )
    following = []
    for endpoint_id, object_id in sorted({(e, o) for _, e, o in done}):
        next_open = (
            Delivery.objects.filter(
                endpoint_id=endpoint_id, object_id=object_id, status__in=list(OPEN_STATUSES)
            )
            .order_by("sequence", "id")
            .values_list("id", flat=True)
            .first()
        )
        if next_open is not None:
            following.append(next_open)
    return following
