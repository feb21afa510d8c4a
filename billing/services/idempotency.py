"""`Idempotency-Key` with Stripe's semantics.

A request with a key runs like this:
1. `idempotency_key_prepare` inserts the key's row if it is missing, committed at once, so
   every concurrent request with that key finds the same row.
2. Inside the request's transaction, `idempotency_key_lock` locks that row without waiting
   and holds it until commit: a duplicate arriving meanwhile cannot take the lock and
   gets 409. No timeout is involved: a request that died released its lock with its
   rollback, and since its writes rolled back too, the key can safely run again.
3. `idempotency_key_store` saves the response in the same transaction as the request's
   writes, so a replayed response always matches what was committed. It keeps the
   rendered body and its headers, so a replay is byte for byte the first answer.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError

from billing.errors import DomainError
from billing.models import IdempotencyKey, Workspace

KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content: bytes
    headers: dict[str, str]


class Replay(Exception):
    def __init__(self, response: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


def request_fingerprint(
    *, method: str, path: str, query: list[tuple[str, list[str]]], body: Any
) -> str:
    """What makes two requests the same one: method, path, query (its parameters in any
    order) and body. Without a query the fingerprint is the one stored before the query
    counted, so a key sent earlier still replays."""
    request = [method, path, body, sorted(query)] if query else [method, path, body]
    canonical = json.dumps(request, sort_keys=True, default=_canonical)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical(value: Any) -> str:
    # An uploaded file (a multipart body's) is the same by its content, not its name.
    if isinstance(value, UploadedFile):
        content = hashlib.sha256()
        for chunk in value.chunks():
            content.update(chunk)
        return f"file:{content.hexdigest()}"
    return str(value)


def idempotency_key_check(key: str) -> None:
    """The caller's key as sent, before any scope prefix is put in front of it."""
    if not key or len(key) > KEY_MAX_LENGTH or "\x00" in key:
        raise DomainError(
            "idempotency_key_invalid",
            f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} characters, none of them NUL.",
            status_code=400,
        )


def idempotency_key_prepare(
    *, workspace: Workspace, test_mode: bool, key: str, fingerprint: str, now: datetime
) -> None:
    """`key` is the stored one: the caller's, checked, behind its scope's prefix."""
    # One statement, committed at once (autocommit): a duplicate's concurrent insert is
    # skipped, not an error, and the lock below decides between them.
    IdempotencyKey.objects.bulk_create(
        [
            IdempotencyKey(
                workspace=workspace,
                test_mode=test_mode,
                key=key,
                fingerprint=fingerprint,
                created_at=now,
            )
        ],
        ignore_conflicts=True,
    )


def idempotency_key_lock(
    *, workspace: Workspace, test_mode: bool, key: str, fingerprint: str, now: datetime
) -> IdempotencyKey:
    """Lock the key's row for this request, or raise `Replay` / a 409 or 422 error."""
    try:
        record = (
            IdempotencyKey.objects.select_for_update(nowait=True)
            .filter(workspace=workspace, test_mode=test_mode, key=key)
            .first()
        )
    except DatabaseError as exc:
        raise _in_use() from exc
    if record is None:  # purged between prepare and lock
        raise _in_use()
    if record.created_at <= now - settings.IDEMPOTENCY_KEY_TTL:
        record.fingerprint = fingerprint
        record.created_at = now
        record.response_status = None
        record.response_body = ""
        record.response_headers = {}
    if record.fingerprint != fingerprint:
        raise DomainError(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request.",
            status_code=422,
        )
    if record.response_status is not None:
        raise Replay(
            StoredResponse(
                status=record.response_status,
                content=record.response_body.encode(),
                headers=record.response_headers,
            )
        )
    # Saved with the response (idempotency_key_store), in this same transaction.
    record.locked_at = now
    return record


def idempotency_key_will_run(
    *, workspace: Workspace, test_mode: bool, key: str, fingerprint: str, now: datetime
) -> bool:
    """Whether `idempotency_key_lock` would let this request's handler run: no answer
    kept (or an expired one) and the same request. Read without the lock, so a
    concurrent duplicate may also see True; the lock still decides which one runs."""
    record = IdempotencyKey.objects.filter(
        workspace=workspace, test_mode=test_mode, key=key
    ).first()
    if record is None:
        return False
    if record.created_at <= now - settings.IDEMPOTENCY_KEY_TTL:
        return True
    return record.fingerprint == fingerprint and record.response_status is None


def idempotency_key_store(*, record: IdempotencyKey, response: StoredResponse) -> None:
    record.response_status = response.status
    record.response_body = response.content.decode()
    record.response_headers = response.headers
    record.save(
        update_fields=[
            "fingerprint", "created_at", "locked_at",
            "response_status", "response_body", "response_headers",
        ]
    )  # fmt: skip


def idempotency_keys_purge(*, now: datetime) -> int:
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lte=now - settings.IDEMPOTENCY_KEY_TTL
    ).delete()
    return deleted


def _in_use() -> DomainError:
    return DomainError(
        "idempotency_key_in_use",
        "A request with this Idempotency-Key is still being processed; retry later.",
        status_code=409,
    )
