"""Webhook endpoints and the delivery of events to them.

A delivery moves pending → sending → succeeded, or back to pending for a retry, or to
failed once its retries run out. The HTTP call itself happens outside any transaction
(webhooks.sender); these services only decide and record, each in a short transaction.
"""

import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypedDict, Unpack

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from billing.db import relax_commit_durability
from billing.encoders import json_bytes
from billing.errors import DomainError, InvalidInput
from billing.event_types import ALL, EVENT_TYPES, PING
from billing.models import Event, Workspace
from billing.queueing import task_queue_or_leave
from billing.services.events import event_mark_published, event_record, publication_time
from billing.sweeps import claim_for_enqueue
from webhooks.choices import (
    MAX_PREVIOUS_SECRETS,
    MAX_RETRY_AFTER,
    OPEN_STATUSES,
    RETRY_JITTER,
    RETRY_SCHEDULE,
    SECRET_OVERLAP,
    DeliveryStatus,
)
from webhooks.fanning import NewDelivery, insert_deliveries
from webhooks.leasing import LeasedDelivery, LeasedEvent, lease_deliveries
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from webhooks.outbox import any_unpublished, take_unpublished
from webhooks.recording import Success, record_successes
from webhooks.signing import delivery_headers, new_secret
from webhooks.url_safety import UnsafeUrl, check_webhook_url

API_DISABLED_REASON = "Disabled through the API."

# At most this many requests of one batch in flight at once, each on its own thread.
_PARALLEL_POSTS = 8


def _validate_endpoint(endpoint: WebhookEndpoint) -> None:
    """Check an endpoint about to be saved. An event type named more than once is kept
    once, in the place it was first named (as a subscription, naming it again means
    nothing more)."""
    errors: dict[str, list[str]] = {}
    try:
        check_webhook_url(endpoint.url, test_mode=endpoint.test_mode)
    except UnsafeUrl as exc:
        errors["url"] = [str(exc)]
    if not isinstance(endpoint.events, list) or not all(
        isinstance(event_type, str) for event_type in endpoint.events
    ):
        # Only the admin's JSON field can hold anything else; the API's serializer can't.
        raise InvalidInput({**errors, "events": ['A list of event types, or ["*"].']})
    endpoint.events = list(dict.fromkeys(endpoint.events))
    unknown = sorted(set(endpoint.events) - EVENT_TYPES - {ALL})
    if unknown:
        errors["events"] = [f"Unknown event types: {', '.join(unknown)}."]
    elif not endpoint.events:
        errors["events"] = ["Subscribe to at least one event type, or '*'."]
    if errors:
        raise InvalidInput(errors)


def _endpoint_snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "active": endpoint.active,
        "disabled_reason": endpoint.disabled_reason,
    }


class EndpointFields(TypedDict, total=False):
    """What an endpoint's create or update may set (its serializer's writable fields)."""

    url: str
    description: str
    events: list[str]
    metadata: dict[str, Any]
    active: bool


@transaction.atomic
def endpoint_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[EndpointFields]
) -> WebhookEndpoint:
    active = fields.pop("active", True)
    endpoint = WebhookEndpoint(
        workspace=workspace, test_mode=test_mode, secret=new_secret(), **fields
    )
    _validate_endpoint(endpoint)
    endpoint.save()
    if not active:
        _disable(endpoint, API_DISABLED_REASON)
    return endpoint


@transaction.atomic
def endpoint_update(
    *, endpoint: WebhookEndpoint, now: datetime, **fields: Unpack[EndpointFields]
) -> WebhookEndpoint:
    """Change an endpoint; `active` switches it as the enable and disable actions do."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    active = fields.pop("active", endpoint.active)
    for name, value in fields.items():
        setattr(endpoint, name, value)
    _validate_endpoint(endpoint)
    endpoint.save()
    if active and not endpoint.active:
        _enable(endpoint, now)
    elif endpoint.active and not active:
        _disable(endpoint, API_DISABLED_REASON)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint:
    """Issue a new secret. The one it replaces keeps signing for SECRET_OVERLAP, as do
    those of earlier rotations whose overlap has not ended: every delivery carries one
    signature per secret still valid, so a receiver on any of them can switch without a
    gap. At most MAX_PREVIOUS_SECRETS are kept; a rotation past that is refused."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    still_valid = _previous_secrets_valid(endpoint.previous_secrets, now)
    if len(still_valid) >= MAX_PREVIOUS_SECRETS:
        raise DomainError(
            "secret_rotation_limit",
            f"{len(still_valid)} earlier secrets still sign deliveries; rotate again once "
            f"the oldest expires ({still_valid[-1]['expires_at']}).",
        )
    endpoint.previous_secrets = [
        {"secret": endpoint.secret, "expires_at": (now + SECRET_OVERLAP).isoformat()},
        *still_valid,
    ]
    endpoint.secret = new_secret()
    endpoint.save()
    return endpoint


def _previous_secrets_valid(
    previous_secrets: Sequence[dict[str, str]], now: datetime
) -> list[dict[str, str]]:
    """The rotated-out secrets whose overlap has not ended at `now`, newest first."""
    return [
        previous
        for previous in previous_secrets
        if datetime.fromisoformat(previous["expires_at"]) > now
    ]


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint:
    """Re-enable an endpoint; what was waiting for it is sent now."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    _enable(endpoint, now)
    return endpoint


def _enable(endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.active = True
    endpoint.disabled_reason = ""
    endpoint.consecutive_failures = 0
    endpoint.save()
    Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        next_attempt_at=now
    )
    _send_on_commit(first_open_deliveries(endpoint=endpoint))


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to an endpoint until `endpoint_enable`, as when the server disables
    one: what was waiting for it waits on, and the events of the meantime skip it."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.active:
        _disable(endpoint, API_DISABLED_REASON)
    return endpoint


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.active = False
    endpoint.disabled_reason = reason[:256]
    endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
    event_record(
        workspace=endpoint.workspace,
        test_mode=endpoint.test_mode,
        type="webhook_endpoint.disabled",
        object_id=endpoint.id,
        data=_endpoint_snapshot(endpoint),
    )


@transaction.atomic
def endpoint_test(*, endpoint: WebhookEndpoint, now: datetime) -> Delivery:
    """Send a `ping` event to this endpoint only, now. A disabled endpoint is sent
    nothing, so its test is refused rather than queued until it is enabled."""
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).exists():
        raise DomainError(
            "webhook_endpoint_disabled", "The endpoint is disabled; enable it to test it."
        )
    event = event_record(
        workspace=endpoint.workspace,
        test_mode=endpoint.test_mode,
        type=PING,
        object_id=endpoint.id,
        data=_endpoint_snapshot(endpoint),
    )
    event_mark_published(event_id=event.id, now=now)
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event=event,
        object_id=event.object_id,
        sequence=event.sequence,
        next_attempt_at=now,
    )
    _send_on_commit([delivery.id])
    return delivery


def _subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return ALL in endpoint.events or event_type in endpoint.events


def _receives(endpoint: WebhookEndpoint, event: Event) -> bool:
    """Whether a redelivery of the event may go to the endpoint: a ping only ever goes to
    the endpoint it tested (its object), whatever the endpoint subscribes to."""
    if event.type == PING:
        return endpoint.pk == event.object_id
    return _subscribed(endpoint, event.type)


def event_fan_out(*, event_id: str, now: datetime) -> list[str]:
    """`events_fan_out` for one event."""
    return events_fan_out(event_ids=[event_id], now=now)


@transaction.atomic
def events_fan_out(*, event_ids: Sequence[str], now: datetime) -> list[str]:
    """Create one delivery per event and subscribed active endpoint, in one insert; return
    what can be sent now.

    Idempotent: a second run for the same events creates nothing new.
    """
    relax_commit_durability()  # lost on a crash, the sweep publishes the events again
    return _fan_out(event_ids, now)


def _fan_out(event_ids: Sequence[str], now: datetime) -> list[str]:
    # Locked in id order, so two batches sharing events cannot deadlock.
    return _fan_out_locked(
        list(Event.objects.select_for_update().filter(pk__in=event_ids).order_by("pk")), now
    )


class FanOutEvent(Protocol):
    """What a fan-out reads of an event: an `Event`, or an event just taken from the
    outbox (`TakenEvent`)."""

    @property
    def id(self) -> str: ...
    @property
    def workspace_id(self) -> str: ...
    @property
    def test_mode(self) -> bool: ...
    @property
    def type(self) -> str: ...
    @property
    def object_id(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def published_at(self) -> datetime | None: ...


def _fan_out_locked(locked: Sequence[FanOutEvent], now: datetime) -> list[str]:
    events = [event for event in locked if event.type != PING]
    if not events:
        return []
    tenants = {(event.workspace_id, event.test_mode) for event in events}
    tenant_filter = Q()
    for workspace_id, test_mode in tenants:
        tenant_filter |= Q(workspace_id=workspace_id, test_mode=test_mode)
    endpoints_by_tenant: dict[tuple[str, bool], list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(tenant_filter, active=True).only(
        "id", "workspace_id", "test_mode", "events"
    ):
        endpoints_by_tenant.setdefault((endpoint.workspace_id, endpoint.test_mode), []).append(
            endpoint
        )
    insert_deliveries(
        [
            NewDelivery(
                endpoint_id=endpoint.id,
                event_id=event.id,
                object_id=event.object_id,
                sequence=event.sequence,
            )
            for event in events
            for endpoint in endpoints_by_tenant.get((event.workspace_id, event.test_mode), [])
            if _subscribed(endpoint, event.type)
        ],
        now=now,
    )
    unpublished = [event.id for event in events if event.published_at is None]
    if unpublished:
        Event.objects.filter(pk__in=unpublished).update(published_at=publication_time(now))
    # Every active endpoint's pair, subscribed or not: a later event's delivery may be
    # waiting for this event's publication even where this event itself is not sent.
    return _first_open_of_pairs(
        {
            (endpoint.id, event.object_id)
            for event in events
            for endpoint in endpoints_by_tenant.get((event.workspace_id, event.test_mode), [])
        }
    )


def _first_open_of_pairs(pairs: set[tuple[str, str]]) -> list[str]:
    """For each (endpoint, object) pair, the earliest delivery still open, in one query."""
    if not pairs:
        return []
    open_deliveries = Delivery.objects.filter(
        endpoint_id__in={endpoint_id for endpoint_id, _ in pairs},
        object_id__in={object_id for _, object_id in pairs},
        status__in=OPEN_STATUSES,
    ).order_by("sequence")
    first_by_pair: dict[tuple[str, str], str] = {}
    for delivery_id, endpoint_id, object_id in open_deliveries.values_list(
        "id", "endpoint_id", "object_id"
    ):
        if (endpoint_id, object_id) in pairs:
            first_by_pair.setdefault((endpoint_id, object_id), delivery_id)
    return list(first_by_pair.values())


def first_open_deliveries(*, endpoint: WebhookEndpoint, object_id: str | None = None) -> list[str]:
    """Per object, the earliest delivery still open for the endpoint: the one to send next."""
    open_deliveries = Delivery.objects.filter(endpoint=endpoint, status__in=OPEN_STATUSES)
    if object_id is not None:
        open_deliveries = open_deliveries.filter(object_id=object_id)
    first_by_object: dict[str, str] = {}
    for delivery_id, delivery_object in open_deliveries.order_by("sequence").values_list(
        "id", "object_id"
    ):
        first_by_object.setdefault(delivery_object, delivery_id)
    return list(first_by_object.values())


@dataclass(frozen=True)
class OutgoingRequest:
    delivery_id: str
    endpoint_id: str
    object_id: str
    attempt: int
    url: str
    test_mode: bool
    body: str
    headers: dict[str, str]


def payload_body(event: Event | LeasedEvent) -> str:
    """The delivery's body, signed and sent as is: amounts are JSON numbers written from
    the event's Decimals, as the API writes them."""
    body = json_bytes(
        {
            "id": event.id,
            "event": event.type,
            "object_id": event.object_id,
            "sequence": event.sequence,
            # Written by json_bytes as the API writes a datetime (UTC with `Z`).
            "created": event.created_at,
            "test_mode": event.test_mode,
            "data": event.data,
        },
        sort_keys=True,
    )
    return body.decode()


def delivery_start(*, delivery_id: str, now: datetime) -> OutgoingRequest | None:
    """Take the lease on a due delivery and build its request, or None if it is not
    this caller's to send (already done, not due, leased elsewhere, or waiting its turn)."""
    requests = deliveries_start(delivery_ids=[delivery_id], now=now)
    return requests[0] if requests else None


@transaction.atomic
def deliveries_start(*, delivery_ids: Sequence[str], now: datetime) -> list[OutgoingRequest]:
    """`delivery_start` for many deliveries in one statement: the requests of those
    that are this caller's to send."""
    relax_commit_durability()  # a lost lease only lets the attempt be made again
    return _start(delivery_ids, now)


def _start(delivery_ids: Sequence[str], now: datetime) -> list[OutgoingRequest]:
    if not delivery_ids:
        return []
    taken = lease_deliveries(
        delivery_ids,
        now=now,
        lease=timedelta(seconds=settings.WEBHOOK_DELIVERY_LEASE_SECONDS),
    )
    return [_outgoing_request(delivery, now) for delivery in taken]


def _outgoing_request(delivery: LeasedDelivery, now: datetime) -> OutgoingRequest:
    secrets_in_use = [
        delivery.secret,
        *(p["secret"] for p in _previous_secrets_valid(delivery.previous_secrets, now)),
    ]
    body = payload_body(delivery.event)
    return OutgoingRequest(
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        object_id=delivery.object_id,
        attempt=delivery.attempts,
        url=delivery.url,
        test_mode=delivery.test_mode,
        body=body,
        headers=delivery_headers(
            secrets_in_use=secrets_in_use,
            # The same id on every attempt, so receivers can drop duplicates.
            message_id=delivery.event.id,
            sent_at=now,
            body=body,
            event_type=delivery.event.type,
            object_id=delivery.object_id,
        ),
    )


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    duration_ms: int
    error: str = ""
    response_body: str = ""
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class AttemptOutcome:
    # Deliveries that may go now (the next event of the same object).
    send_now: list[str]
    # When this delivery should be tried again, if it should.
    retry_at: datetime | None


def retry_delay(attempt: int, retry_after: timedelta | None) -> timedelta | None:
    """The wait after failed attempt number `attempt`, or None when retries are spent."""
    if attempt > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempt - 1]
    jittered = base * (1 + random.uniform(-RETRY_JITTER, RETRY_JITTER))
    if retry_after is not None:
        jittered = max(jittered, min(retry_after, MAX_RETRY_AFTER))
    return jittered


@transaction.atomic
def delivery_finish(
    *, request: OutgoingRequest, result: AttemptResult, now: datetime
) -> AttemptOutcome:
    # Lost on a crash, the delivery is simply sent again (receivers dedupe on webhook-id).
    relax_commit_durability()
    if result.succeeded:
        return AttemptOutcome(send_now=_record_successes([(request, result)], now), retry_at=None)
    delivery = Delivery.objects.select_for_update().filter(pk=request.delivery_id).first()
    if delivery is None:
        # Its endpoint was deleted while the request was on its way: nothing to record,
        # and the batch's other outcomes must still be.
        return AttemptOutcome(send_now=[], retry_at=None)
    if delivery.status != DeliveryStatus.SENDING or delivery.attempts != request.attempt:
        # The lease ran out and another attempt took over; its outcome is the one kept.
        return AttemptOutcome(send_now=[], retry_at=None)
    _log_attempt(request=request, result=result, now=now)
    delivery.last_status_code = result.status_code
    delivery.lease_expires_at = None
    retry_at = None
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    endpoint.consecutive_failures += 1
    endpoint.save(update_fields=["consecutive_failures", "updated_at"])
    # Counted from the latest redelivery, which starts the schedule afresh.
    attempt = request.attempt - delivery.retries_from
    delay = retry_delay(attempt, result.retry_after)
    if result.status_code == 410:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now
        _disable(endpoint, "The receiver answered 410 Gone.")
    elif delay is None:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        _disable(
            endpoint,
            f"Delivery {delivery.id} failed after {attempt} attempts "
            f"(last: {result.status_code or result.error}).",
        )
    else:
        delivery.status = DeliveryStatus.PENDING
        retry_at = delivery.next_attempt_at = now + delay
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "lease_expires_at",
            "last_status_code",
            "updated_at",
        ]
    )
    send_now = []
    if delivery.status == DeliveryStatus.FAILED and endpoint.active:
        send_now = first_open_deliveries(endpoint=endpoint, object_id=delivery.object_id)
    return AttemptOutcome(send_now=send_now, retry_at=retry_at)


def _log_attempt(*, request: OutgoingRequest, result: AttemptResult, now: datetime) -> None:
    _attempt_row(request=request, result=result, now=now).save()


def _attempt_row(
    *, request: OutgoingRequest, result: AttemptResult, now: datetime
) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=request.delivery_id,
        number=request.attempt,
        attempted_at=now,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        error=result.error[:500],
        response_body=result.response_body[:1000],
    )


def _record_successes(
    attempts: Sequence[tuple[OutgoingRequest, AttemptResult]], now: datetime
) -> list[str]:
    """Record successful attempts in one statement whatever their number; what may be
    sent now (each object's next delivery). Whether an endpoint is still active is
    checked when its next delivery starts."""
    return record_successes(
        [
            Success(
                delivery_id=request.delivery_id,
                attempt=request.attempt,
                status_code=result.status_code or 0,
                duration_ms=result.duration_ms,
                error=result.error[:500],
                response_body=result.response_body[:1000],
            )
            for request, result in attempts
        ],
        now,
    )


@dataclass(frozen=True)
class BatchOutcome:
    # Deliveries that may go now (the next event of the same objects).
    send_now: list[str]
    # When each delivery that failed and may be retried should be tried again.
    retries: dict[str, datetime]


@transaction.atomic
def deliveries_finish(
    *, attempts: Sequence[tuple[OutgoingRequest, AttemptResult]], now: datetime
) -> BatchOutcome:
    """`delivery_finish` for many attempts: successes recorded together, failures one
    by one (they are rare, and each may disable its endpoint)."""
    relax_commit_durability()  # lost on a crash, the deliveries are simply sent again
    send_now: list[str] = []
    retries: dict[str, datetime] = {}
    for request, result in attempts:
        if not result.succeeded:
            outcome = delivery_finish(request=request, result=result, now=now)
            send_now += outcome.send_now
            if outcome.retry_at is not None:
                retries[request.delivery_id] = outcome.retry_at
    send_now += _record_successes([(q, r) for q, r in attempts if r.succeeded], now)
    return BatchOutcome(send_now=list(dict.fromkeys(send_now)), retries=retries)


def deliveries_batch_size() -> int:
    """How many deliveries one lease covers: all of them must be attempted before it
    runs out, even if every receiver takes its full timeout. A batch holds one delivery
    per object and endpoint, sent `_PARALLEL_POSTS` at a time."""
    rounds = max(
        1, int(settings.WEBHOOK_DELIVERY_LEASE_SECONDS // settings.WEBHOOK_TIMEOUT_SECONDS)
    )
    return rounds * _PARALLEL_POSTS


def _send_all(
    requests: list[OutgoingRequest], transport: Callable[[OutgoingRequest], AttemptResult]
) -> list[tuple[OutgoingRequest, AttemptResult]]:
    """Each object's requests to an endpoint in order, different objects side by side
    (order is promised per object only): a slow receiver, or a slow answer about one
    object, holds up only what must wait for it."""
    by_object: dict[tuple[str, str], list[OutgoingRequest]] = {}
    for request in requests:
        by_object.setdefault((request.endpoint_id, request.object_id), []).append(request)

    def send(group: list[OutgoingRequest]) -> list[tuple[OutgoingRequest, AttemptResult]]:
        return [(request, transport(request)) for request in group]

    if len(by_object) == 1:
        return send(requests)
    with ThreadPoolExecutor(max_workers=min(len(by_object), _PARALLEL_POSTS)) as pool:
        return [attempt for sent in pool.map(send, by_object.values()) for attempt in sent]


@dataclass(frozen=True)
class Publication:
    # Leased in the fan-out's own transaction: to send now.
    started: list[OutgoingRequest]
    # What else may be sent now, beyond the first lease's worth.
    ready: list[str]


def events_publish(*, event_ids: Sequence[str], now: datetime) -> Publication:
    """`events_fan_out`, then the lease on the first lease's worth of what can be sent
    now, in the same transaction: publishing is one commit, not two.

    Events already published, or being published elsewhere, are left alone; other events
    still waiting to be published are taken along, up to a lease's worth in all, so one
    message sends what a burst of them names (theirs then find nothing to do, in one
    statement and no transaction)."""
    if not any_unpublished():
        return Publication(started=[], ready=[])
    return _publish(event_ids, now)


@transaction.atomic
def _publish(event_ids: Sequence[str], now: datetime) -> Publication:
    size = deliveries_batch_size()
    events = take_unpublished(event_ids, up_to=size, now=now)
    if not events:
        return Publication(started=[], ready=[])
    # Lost on a crash, the sweep publishes the events again and the lease lapses.
    relax_commit_durability()
    ready = _fan_out_locked(events, now)
    return Publication(started=_start(ready[:size], now), ready=ready[size:])


def deliveries_attempt(
    *,
    delivery_ids: Sequence[str],
    clock: Callable[[], datetime],
    transport: Callable[[OutgoingRequest], AttemptResult],
    started: Sequence[OutgoingRequest] = (),
) -> BatchOutcome:
    """`delivery_attempt` for many deliveries, a lease's worth at a time: one lease for
    them all, the calls one after another (over the receiver's kept-alive connection),
    one record of the outcomes. `started` are requests already leased, sent first."""
    send_now: list[str] = []
    retries: dict[str, datetime] = {}
    if started:
        outcome = deliveries_finish(attempts=_send_all(list(started), transport), now=clock())
        send_now += outcome.send_now
        retries.update(outcome.retries)
    size = deliveries_batch_size()
    for offset in range(0, len(delivery_ids), size):
        requests = deliveries_start(delivery_ids=delivery_ids[offset : offset + size], now=clock())
        if not requests:
            continue
        outcome = deliveries_finish(attempts=_send_all(requests, transport), now=clock())
        send_now += outcome.send_now
        retries.update(outcome.retries)
    return BatchOutcome(send_now=send_now, retries=retries)


def delivery_attempt(
    *,
    delivery_id: str,
    clock: Callable[[], datetime],
    transport: Callable[[OutgoingRequest], AttemptResult],
) -> AttemptOutcome | None:
    """One attempt: take the lease, send (holding no database lock), record the outcome.

    None when the delivery was not this caller's to send. `clock` is read twice because
    the attempt spans the HTTP call.
    """
    request = delivery_start(delivery_id=delivery_id, now=clock())
    if request is None:
        return None
    result = transport(request)
    return delivery_finish(request=request, result=result, now=clock())


def deliveries_due(*, now: datetime, limit: int = 1000) -> list[str]:
    """Open deliveries whose time has come or whose lease has lapsed (a worker died)."""
    due = Delivery.objects.filter(endpoint__active=True).filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, lease_expires_at__lte=now)
    )
    with transaction.atomic():
        return claim_for_enqueue(
            due, now=now, limit=limit, order_by=("next_attempt_at", "sequence"), field="enqueued_at"
        )


@transaction.atomic
def event_redeliver(
    *, event: Event, now: datetime, endpoint: WebhookEndpoint | None = None
) -> list[Delivery]:
    """Send an event again: to one endpoint, or to every endpoint that subscribes to it.
    One endpoint must subscribe to the event too (a disabled one may: it missed it).
    A redelivered delivery is retried on the whole schedule again, as a new one is."""
    if endpoint is not None:
        if not _receives(endpoint, event):
            raise InvalidInput(
                {"endpoint": [f"Endpoint {endpoint.pk} does not subscribe to {event.type}."]}
            )
        endpoints = [endpoint]
    else:
        endpoints = [
            e
            for e in WebhookEndpoint.objects.filter(
                workspace_id=event.workspace_id, test_mode=event.test_mode, active=True
            )
            if _receives(e, event)
        ]
    if not endpoints:
        raise DomainError("no_endpoint", "No active endpoint subscribes to this event.")
    deliveries = []
    for target in endpoints:
        delivery, created = Delivery.objects.select_for_update().get_or_create(
            endpoint=target,
            event=event,
            defaults={"object_id": event.object_id, "sequence": event.sequence},
        )
        if not created and delivery.status == DeliveryStatus.SENDING:
            raise DomainError(
                "delivery_in_progress", f"Delivery {delivery.id} is being sent right now."
            )
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now
        delivery.retries_from = delivery.attempts
        delivery.save()
        deliveries.append(delivery)
    _send_on_commit([d.id for d in deliveries])
    return deliveries


def _send_on_commit(delivery_ids: list[str]) -> None:
    if not delivery_ids:
        return

    def enqueue() -> None:
        for delivery_id in delivery_ids:
            # Once the broker is found down, the beat sweep sends the rest too.
            if not task_queue_or_leave(
                "webhooks.tasks.send_delivery", kwargs={"delivery_id": delivery_id}
            ):
                return

    transaction.on_commit(enqueue)
