"""The HTTP side of a delivery: one POST, no redirects, a hard timeout, no database."""

import functools
import threading
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.utils import timezone

from webhooks.choices import MAX_RETRY_AFTER
from webhooks.services import AttemptResult, OutgoingRequest
from webhooks.url_safety import UnsafeUrl, webhook_target

_sender_lock = threading.Lock()
_MAX_RETRY_AFTER_SECONDS = int(MAX_RETRY_AFTER.total_seconds())
# Of an answer's body, at most this much is read (the attempt log keeps 1000 characters).
_MAX_BODY_BYTES = 64 * 1024


class _Sender:
    """What a worker process keeps per receiver name: a connection pool (httpx's
    transport), and the headers httpx's client sends by default.

    A delivery goes to the transport itself: the client around it would only add CPU
    (it merges and wraps the request and the response again, and runs a cookie jar over
    every answer, which would also hand one workspace's receiver cookies another's set
    on the same host). No redirect is followed, no proxy is read from the environment."""

    def __init__(self) -> None:
        self.transport = httpx.HTTPTransport()
        self.headers = httpx.Client(transport=self.transport).headers
        seconds = float(settings.WEBHOOK_TIMEOUT_SECONDS)
        self.timeout = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}

    def post(
        self, url: str, *, body: str, headers: dict[str, str], server_name: str
    ) -> httpx.Response:
        request = httpx.Request(
            "POST",
            url,
            content=body,
            headers={**self.headers, **headers},
            extensions={"sni_hostname": server_name, "timeout": self.timeout},
        )
        deadline = time.monotonic() + self.timeout["read"]
        response = self.transport.handle_request(request)
        try:
            response._content = _bounded_body(response, deadline)
        finally:
            response.close()
        return response


def _bounded_body(response: httpx.Response, deadline: float) -> bytes:
    """The start of the answer's body: at most `_MAX_BODY_BYTES`, read until `deadline`.

    The read timeout bounds each read only, so a receiver that keeps sending (a byte
    now and then, or without end) would hold the worker and its memory as long as it
    liked, and outlive the delivery's lease. The status is what counts; the body is kept
    only for the attempt log."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= _MAX_BODY_BYTES or time.monotonic() >= deadline:
            break
    return bytes(body[:_MAX_BODY_BYTES])


def _sender(server_name: str) -> _Sender:
    # Under a lock: a batch's first requests, sent side by side, would otherwise each
    # build a transport (a TLS context apiece, tens of milliseconds of CPU) for one name.
    with _sender_lock:
        return _named_sender(server_name)


@functools.lru_cache(maxsize=256)
def _named_sender(server_name: str) -> _Sender:
    # One per receiver name in a worker process (transports are thread-safe):
    # connections are kept alive between deliveries. Per name, because connections are
    # pooled by the address connected to, and two names on one address must not share a
    # TLS connection made (and its certificate checked) for the other.
    return _Sender()


def post(request: OutgoingRequest) -> AttemptResult:
    started = time.monotonic()
    try:
        # Connect to the address just checked: a second resolution could be answered
        # with a private one (DNS rebinding).
        target = webhook_target(request.url, test_mode=request.test_mode)
        response = _sender(target.server_name).post(
            target.url,
            body=request.body,
            headers={**request.headers, "Host": target.host_header},
            server_name=target.server_name,
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
    """The receiver's Retry-After, in seconds or as an HTTP date, capped at
    MAX_RETRY_AFTER; None when it is absent or unreadable. Whatever the receiver sends,
    this returns: an exception here would lose the attempt's outcome."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        # Compared before timedelta, which overflows on a receiver's huge number.
        return min(timedelta(seconds=min(int(value), _MAX_RETRY_AFTER_SECONDS)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when - timezone.now(), timedelta(0)), MAX_RETRY_AFTER)
