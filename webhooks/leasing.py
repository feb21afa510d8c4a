"""Taking the lease on due deliveries in one statement, which also reads what their
requests are built from: no read before the write, no re-read after it."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from billing.models import Event
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, WebhookEndpoint

# `due`: the deliveries that are this caller's to send: open, due, not leased elsewhere
# (a lapsed lease may be taken over), the endpoint active, and no earlier event of the
# same object still open for the endpoint or not yet fanned out (per-object order).
# Locked with SKIP LOCKED, so a delivery another worker is taking is left to it; only
# the delivery rows are locked, so a busy endpoint row does not look like a busy
# delivery. The conditions are checked again on the locked row.
_SQL = f"""
WITH due AS (
    SELECT d.id FROM {Delivery._meta.db_table} d
    JOIN {WebhookEndpoint._meta.db_table} e ON e.id = d.endpoint_id
    JOIN {Event._meta.db_table} ev ON ev.id = d.event_id
    WHERE d.id = ANY(%(ids)s)
      AND e.active
      AND (d.status = %(pending)s
           OR (d.status = %(sending)s
               AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= %(now)s)))
      AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %(now)s)
      AND NOT EXISTS (
          SELECT 1 FROM {Delivery._meta.db_table} earlier
          WHERE earlier.endpoint_id = d.endpoint_id AND earlier.object_id = d.object_id
            AND earlier.sequence < d.sequence
            AND earlier.status IN (%(pending)s, %(sending)s))
      AND NOT EXISTS (
          SELECT 1 FROM {Event._meta.db_table} unpublished
          WHERE unpublished.workspace_id = ev.workspace_id
            AND unpublished.test_mode = ev.test_mode
            AND unpublished.object_id = d.object_id
            AND unpublished.sequence < d.sequence
            AND unpublished.published_at IS NULL)
    ORDER BY d.sequence, d.id
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE {Delivery._meta.db_table} d
SET status = %(sending)s, attempts = d.attempts + 1, lease_expires_at = %(lease_end)s,
    enqueued_at = NULL, updated_at = %(now)s
FROM due, {WebhookEndpoint._meta.db_table} e, {Event._meta.db_table} ev
WHERE d.id = due.id AND e.id = d.endpoint_id AND ev.id = d.event_id
RETURNING d.id, d.object_id, d.sequence, d.attempts,
    e.id, e.url, e.test_mode, e.secret, e.previous_secrets,
    ev.id, ev.type, ev.object_id, ev.sequence, ev.created_at, ev.test_mode, ev.data
"""

_EVENT_DATA = Event._meta.get_field("data")
_PREVIOUS_SECRETS = WebhookEndpoint._meta.get_field("previous_secrets")


class LeasedEvent(NamedTuple):
    """What a delivery's body is built from (the fields `payload_body` reads)."""

    id: str
    type: str
    object_id: str
    sequence: int
    created_at: datetime
    test_mode: bool
    data: Any


class LeasedDelivery(NamedTuple):
    """A leased delivery, with what its request is built from. Plain values, not model
    instances: building three of those per delivery cost more CPU than the statement."""

    id: str
    object_id: str
    sequence: int
    attempts: int  # counting this attempt
    endpoint_id: str
    url: str
    test_mode: bool
    secret: str
    previous_secrets: list[dict[str, str]]
    event: LeasedEvent


def lease_deliveries(
    delivery_ids: Sequence[str], *, now: datetime, lease: timedelta
) -> list[LeasedDelivery]:
    """Lease those of these deliveries that are this caller's to send, in (sequence, id)
    order."""
    if connection.vendor != "postgresql":
        return _lease_one_writer(delivery_ids, now=now, lease=lease)
    params: dict[str, Any] = {
        "ids": list(delivery_ids),
        "pending": DeliveryStatus.PENDING.value,
        "sending": DeliveryStatus.SENDING.value,
        "now": now,
        "lease_end": now + lease,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        rows = cursor.fetchall()
    leased = [_leased(row) for row in rows]
    leased.sort(key=lambda delivery: (delivery.sequence, delivery.id))
    return leased


def _leased(row: tuple[Any, ...]) -> LeasedDelivery:
    (
        delivery_id,
        object_id,
        sequence,
        attempts,
        endpoint_id,
        url,
        endpoint_test_mode,
        secret,
        previous_secrets,
        event_id,
        event_type,
        event_object_id,
        event_sequence,
        event_created_at,
        event_test_mode,
        event_data,
    ) = row
    event = LeasedEvent(
        id=event_id,
        type=event_type,
        object_id=event_object_id,
        sequence=event_sequence,
        created_at=event_created_at,
        test_mode=event_test_mode,
        data=_EVENT_DATA.from_db_value(event_data, None, connection),  # type: ignore[arg-type]
    )
    return LeasedDelivery(
        id=delivery_id,
        object_id=object_id,
        sequence=sequence,
        attempts=attempts,
        endpoint_id=endpoint_id,
        url=url,
        test_mode=endpoint_test_mode,
        secret=secret,
        previous_secrets=_PREVIOUS_SECRETS.from_db_value(
            previous_secrets,
            None,  # type: ignore[arg-type]
            connection,
        ),
        event=event,
    )


def _lease_one_writer(
    delivery_ids: Sequence[str], *, now: datetime, lease: timedelta
) -> list[LeasedDelivery]:
    """`lease_deliveries` where one transaction writes at a time (SQLite, as `make run`
    serves): the same conditions through the ORM, no row another worker could hold."""
    open_statuses = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
    earlier_open = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        object_id=OuterRef("object_id"),
        sequence__lt=OuterRef("sequence"),
        status__in=open_statuses,
    )
    earlier_unpublished = Event.objects.filter(
        workspace_id=OuterRef("event__workspace_id"),
        test_mode=OuterRef("event__test_mode"),
        object_id=OuterRef("object_id"),
        sequence__lt=OuterRef("sequence"),
        published_at__isnull=True,
    )
    lease_free = Q(status=DeliveryStatus.PENDING.value) | Q(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
        status=DeliveryStatus.SENDING.value,
    )
    due = (
        Delivery.objects.filter(lease_free, id__in=list(delivery_ids), endpoint__active=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .exclude(Exists(earlier_open))
        .exclude(Exists(earlier_unpublished))
        .select_related("endpoint", "event")
        .order_by("sequence", "id")
    )
    deliveries = list(due)
    Delivery.objects.filter(id__in=[delivery.id for delivery in deliveries]).update(
        status=DeliveryStatus.SENDING.value,
        attempts=F("attempts") + 1,
        lease_expires_at=now + lease,
        enqueued_at=None,
        updated_at=now,
    )
    return [
        LeasedDelivery(
            id=delivery.id,
            object_id=delivery.object_id,
            sequence=delivery.sequence,
            attempts=delivery.attempts + 1,
            endpoint_id=delivery.endpoint.id,
            url=delivery.endpoint.url,
            test_mode=delivery.endpoint.test_mode,
            secret=delivery.endpoint.secret,
            previous_secrets=delivery.endpoint.previous_secrets,
            event=LeasedEvent(
                id=delivery.event.id,
                type=delivery.event.type,
                object_id=delivery.event.object_id,
                sequence=delivery.event.sequence,
                created_at=delivery.event.created_at,
                test_mode=delivery.event.test_mode,
                data=delivery.event.data,
            ),
        )
        for delivery in deliveries
    ]
