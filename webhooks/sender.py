"""The HTTP side of a delivery: one POST, no redirects, a hard timeout, no database."""

import functools
import threading
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.utils import timezone

from webhooks.services import AttemptResult, OutgoingRequest
from webhooks.url_safety import UnsafeUrl, webhook_target

_client_lock = threading.Lock()


def _client(server_name: str) -> httpx.Client:
    # Under a lock: a batch's first requests, sent side by side, would otherwise each
    # build a client (a TLS context apiece, tens of milliseconds of CPU) for one name.
    with _client_lock:
        return _named_client(server_name)


@functools.lru_cache(maxsize=256)
def _named_client(server_name: str) -> httpx.Client:
    # One client per receiver name in a worker process (clients are thread-safe):
    # connections are kept alive between deliveries. Per name, because connections are
    # pooled by the address connected to, and two names on one address must not share a
    # TLS connection made (and its certificate checked) for the other.
    return httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False)


def post(request: OutgoingRequest) -> AttemptResult:
    started = time.monotonic()
    try:
        # Connect to the address just checked: a second resolution could be answered
        # with a private one (DNS rebinding).
        target = webhook_target(request.url, test_mode=request.test_mode)
        response = _client(target.server_name).post(
            target.url,
            content=request.body,
            headers={**request.headers, "Host": target.host_header},
            extensions={"sni_hostname": target.server_name},
        )
    except UnsafeUrl as exc:
        return AttemptResult(None, _elapsed_ms(started), error=f"unsafe url: {exc}")
    except httpx.TimeoutException:
        return AttemptResult(None, _elapsed_ms(started), error="timeout")
    except httpx.HTTPError as exc:
        return AttemptResult(None, _elapsed_ms(started), error=f"{type(exc).__name__}: {exc}")
    return AttemptResult(
        status_code=response.status_code,
        duration_ms=_elapsed_ms(started),
        response_body=response.text[:1000],
        retry_after=_retry_after(response.headers.get("retry-after")),
    )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - timezone.now(), timedelta(0))
