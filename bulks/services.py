"""Submitting a bulk and creating its documents.

Each item is created exactly once: a worker takes the item up (skipping items another
worker holds), counting the attempt, then locks it, creates its document and records the
result in one transaction, so a duplicate message, a second worker or a re-run after a
crash finds the item done or redoes it whole. An item whose attempts keep ending with
their worker is failed after a few of them.
An item is validated as `POST /invoices/` or `POST /retentions/` validates its body, and
an item refused, or failed by anything else (a database error), records the errors that
endpoint would answer; the others go on.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from rest_framework import serializers

from billing.db import unique_field_errors
from billing.errors import DomainError, InvalidInput, nested_field_errors
from billing.models import Workspace
from billing.queueing import task_queue_or_leave
from bulks.choices import MAX_BULK_ITEMS, MAX_ITEM_ATTEMPTS, BulkItemStatus, BulkKind, BulkStatus
from bulks.models import Bulk, BulkItem
from bulks.representations import NOT_AN_OBJECT
from invoices.representations import InvoiceSerializer
from invoices.services.invoices import invoice_create
from procurement.representations import RetentionSerializer
from procurement.services.retentions import retention_create

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Tenant:
    """What the serializers' tenant-scoped fields read from a request."""

    workspace: Workspace
    test_mode: bool


_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    BulkKind.INVOICES: InvoiceSerializer,
    BulkKind.RETENTIONS: RetentionSerializer,
}
_CREATORS: dict[str, Callable[..., Any]] = {
    BulkKind.INVOICES: invoice_create,
    BulkKind.RETENTIONS: retention_create,
}


@transaction.atomic
def bulk_submit(
    *,
    workspace: Workspace,
    test_mode: bool,
    kind: str,
    items: Sequence[Any],
    metadata: dict[str, Any] | None = None,
) -> Bulk:
    """Record the items and queue their processing (after commit)."""
    if not items:
        raise InvalidInput({"items": ["Send at least one item."]})
    if len(items) > MAX_BULK_ITEMS:
        raise InvalidInput(
            {"items": [f"At most {MAX_BULK_ITEMS} items per request; split the rest "
                       "into another bulk."]}
        )  # fmt: skip
    not_objects = [i for i, item in enumerate(items) if not isinstance(item, dict)]
    if not_objects:
        raise InvalidInput({f"items.{i}": [NOT_AN_OBJECT] for i in not_objects})
    bulk = Bulk.objects.create(
        workspace=workspace, test_mode=test_mode, kind=kind, metadata=metadata or {}
    )
    BulkItem.objects.bulk_create(
        BulkItem(bulk=bulk, position=position, payload=item) for position, item in enumerate(items)
    )
    _enqueue(bulk.id)
    return bulk


class BulkFields(TypedDict, total=False):
    """What a bulk's update may set (BulkSerializer's writable fields but its items)."""

    metadata: dict[str, Any]


@transaction.atomic
def bulk_update(
    *, bulk: Bulk, items: Sequence[Any] | None = None, **fields: Unpack[BulkFields]
) -> Bulk:
    """A bulk's metadata; its items were submitted and are processed as they were."""
    if items is not None:
        raise InvalidInput(
            {"items": ["A submitted bulk's items do not change; submit a new bulk."]}
        )
    locked = Bulk.objects.select_for_update().get(pk=bulk.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save()
    return locked


def _enqueue(bulk_id: str) -> None:
    def enqueue() -> None:
        task_queue_or_leave("bulks.tasks.process_bulk", kwargs={"bulk_id": bulk_id})

    transaction.on_commit(enqueue)


# What an item's own endpoint answers for an error it did not foresee (a 500), and for
# a write a database constraint refused (a 409): the details go to the log, not to the
# caller.
SERVER_ERROR = {"detail": "Server error.", "code": "server_error"}
CONFLICT = {
    "detail": "The request conflicts with the current state of the data.",
    "code": "conflict",
}
ATTEMPTS_EXHAUSTED = {
    "detail": f"Creating this item stopped its worker {MAX_ITEM_ATTEMPTS} times; it was "
    "given up and nothing was created. Submit it again, alone or after checking it.",
    "code": "item_attempts_exhausted",
}


def _errors(exc: Exception) -> dict[str, Any]:
    """The errors the item's own endpoint would answer for `exc`."""
    if isinstance(exc, IntegrityError):
        unique = unique_field_errors(exc)
        return dict(CONFLICT) if unique is None else unique
    if isinstance(exc, InvalidInput):
        return nested_field_errors(exc.errors)
    if isinstance(exc, DomainError):
        return {"detail": exc.detail, "code": exc.code}
    if isinstance(exc, serializers.ValidationError):
        detail = exc.detail
        return detail if isinstance(detail, dict) else {"non_field_errors": detail}
    return dict(SERVER_ERROR)


def _create(bulk: Bulk, item: BulkItem) -> str:
    tenant = _Tenant(bulk.workspace, bulk.test_mode)
    serializer = _SERIALIZERS[bulk.kind](data=item.payload, context={"request": tenant})
    serializer.is_valid(raise_exception=True)
    created = _CREATORS[bulk.kind](
        workspace=bulk.workspace, test_mode=bulk.test_mode, **serializer.validated_data
    )
    return str(created.pk)


def _process_next(bulk: Bulk, clock: Callable[[], datetime]) -> bool:
    """Create the next pending item's document; False when none is left to take."""
    taken = _take_next(bulk, clock)
    if taken is None:
        return False
    if taken.status != BulkItemStatus.PENDING:
        return True  # given up
    with transaction.atomic():
        # Held until the result is recorded: a worker whose lease on the item ran out
        # while this one still works on it waits here, then finds it done. Waited for,
        # not skipped: another worker looking for an item to take may hold the row for
        # a moment, and skipping it would leave the item to its lease running out.
        item = (
            BulkItem.objects.select_for_update()
            .filter(pk=taken.pk, status=BulkItemStatus.PENDING)
            .first()
        )
        if item is None:
            return True
        try:
            with transaction.atomic():  # a refused item leaves nothing behind
                item.object_id = _create(bulk, item)
            item.status = BulkItemStatus.SUCCEEDED
        except Exception as exc:
            # Whatever stopped this item, it fails alone and for good: left pending, it
            # would stop the items after it and hold its bulk in processing, each sweep
            # failing on it again.
            if not isinstance(exc, InvalidInput | DomainError | serializers.ValidationError):
                logger.exception("bulk %s: item %s failed", bulk.pk, item.position)
            item.status, item.errors = BulkItemStatus.FAILED, _errors(exc)
        _record(item, clock)
    return True


def _take_next(bulk: Bulk, clock: Callable[[], datetime]) -> BulkItem | None:
    """Take the next pending item no live worker holds, counting the attempt in a
    transaction of its own; None when none is left to take. An item taken up
    MAX_ITEM_ATTEMPTS times already, each time by a worker that died before recording
    its result (killed, out of memory, perhaps by the item itself), is failed instead
    and returned so: taken again on every restart, it would never let its bulk finish."""
    with transaction.atomic():
        now = clock()
        item = (
            BulkItem.objects.select_for_update(skip_locked=True)
            .filter(bulk=bulk, status=BulkItemStatus.PENDING)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
            .order_by("position")
            .first()
        )
        if item is None:
            return None
        if item.attempts < MAX_ITEM_ATTEMPTS:
            item.attempts += 1
            item.lease_expires_at = now + timedelta(seconds=settings.BULK_ITEM_LEASE_SECONDS)
            item.save(update_fields=["attempts", "lease_expires_at"])
            return item
        logger.error("bulk %s: item %s given up after %s attempts",
                     bulk.pk, item.position, item.attempts)  # fmt: skip
        item.status, item.errors = BulkItemStatus.FAILED, dict(ATTEMPTS_EXHAUSTED)
        _record(item, clock)
        return item


def _record(item: BulkItem, clock: Callable[[], datetime]) -> None:
    item.processed_at = clock()  # each item when its own result was known
    item.lease_expires_at = None
    item.save(update_fields=["object_id", "status", "errors", "processed_at", "lease_expires_at"])


def bulk_process(*, bulk_id: str, clock: Callable[[], datetime]) -> int:
    """Process a bulk's pending items; returns how many this call processed. `clock` is
    read as each item is done, since a bulk's items take a while one after another."""
    bulk = Bulk.objects.select_related("workspace").filter(pk=bulk_id).first()
    if bulk is None or bulk.status == BulkStatus.COMPLETED:
        return 0
    # A queryset update leaves `updated_at` as it was: set here, as a save would.
    Bulk.objects.filter(pk=bulk.pk, status=BulkStatus.PENDING).update(
        status=BulkStatus.PROCESSING, updated_at=clock()
    )
    done = 0
    while _process_next(bulk, clock):
        done += 1
    with transaction.atomic():
        locked = Bulk.objects.select_for_update().get(pk=bulk.pk)
        pending = locked.items.filter(status=BulkItemStatus.PENDING).exists()
        if not pending and locked.status != BulkStatus.COMPLETED:
            locked.status, locked.completed_at = BulkStatus.COMPLETED, clock()
            locked.save(update_fields=["status", "completed_at", "updated_at"])
    return done


def bulks_unfinished() -> list[str]:
    """Bulks with items still pending (a lost message, a crashed worker): the beat sweep
    queues them again."""
    return list(
        Bulk.objects.exclude(status=BulkStatus.COMPLETED)
        .order_by("created_at")
        .values_list("id", flat=True)[:100]
    )
