"""The HTTP side of a delivery: one POST, no redirects, a hard timeout, no database."""

import functools
import threading
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx
from django.conf import settings
from django.utils import timezone

from webhooks.choices import MAX_RETRY_AFTER
from webhooks.services import AttemptResult, OutgoingRequest
from webhooks.url_safety import LookupTimeout, UnsafeUrl, webhook_target

_sender_lock = threading.Lock()
# The monotonic time by which the attempt this thread is making must be over.
_deadline = threading.local()
# A request's bytes are written this many at a time, each write bounded by the deadline.
_WRITE_CHUNK = 16 * 1024
_MAX_RETRY_AFTER_SECONDS = int(MAX_RETRY_AFTER.total_seconds())
# Of an answer's body, at most this much is read (the attempt log keeps 1000 characters).
_MAX_BODY_BYTES = 64 * 1024


def _remaining(timeout: float | None, exc: type[Exception]) -> float | None:
    """A socket operation's timeout, cut to what is left of the attempt's deadline;
    `exc` once nothing is left."""
    deadline = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc("The delivery's deadline has passed.")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline of the
    attempt using it: httpx's timeouts bound each operation only, so a receiver that sends
    its answer (headers included) a byte at a time could hold an attempt without end."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), _WRITE_CHUNK):
            chunk = buffer[start : start + _WRITE_CHUNK]
            self._stream.write(chunk, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, _remaining(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, wrapped in `_DeadlineStream`."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            _remaining(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _remaining(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport (its defaults, its error mapping) over `_DeadlineBackend`."""

    def __init__(self) -> None:
        super().__init__()
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )


class _Sender:
    """What a worker process keeps per receiver name: a connection pool (httpx's
    transport), and the headers httpx's client sends by default.

    A delivery goes to the transport itself: the client around it would only add CPU
    (it merges and wraps the request and the response again, and runs a cookie jar over
    every answer, which would also hand one workspace's receiver cookies another's set
    on the same host). No redirect is followed, no proxy is read from the environment.

    `WEBHOOK_TIMEOUT_SECONDS` bounds each step (connecting, sending, each read) and the
    whole attempt too, from the name lookup on (`post` sets the deadline): past it,
    whatever step is under way fails as a timeout, or, once the status is in, the rest
    of the body is left unread."""

    def __init__(self) -> None:
        self.transport = _DeadlineTransport()
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
        response = self.transport.handle_request(request)
        try:
            response._content = _bounded_body(response)
        finally:
            response.close()
        return response


def _bounded_body(response: httpx.Response) -> bytes:
    """The start of the answer's body: at most `_MAX_BODY_BYTES`, read until the
    attempt's deadline.

    A receiver that keeps sending (a byte now and then, or without end) would otherwise
    hold the worker and its memory as long as it liked, and outlive the delivery's lease.
    The status is what counts; the body is kept only for the attempt log."""
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= _MAX_BODY_BYTES:
                break
    except httpx.TimeoutException:
        pass  # the deadline came first: the status is in, the body was only for the log
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
    seconds = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    # The attempt's time limit runs from here: resolving the receiver's name is part of
    # the attempt, and a slow resolver must not hold a delivery past it.
    _deadline.at = started + seconds
    try:
        # Connect to the address just checked: a second resolution could be answered
        # with a private one (DNS rebinding).
        target = webhook_target(request.url, test_mode=request.test_mode, timeout=seconds)
        response = _sender(target.server_name).post(
            target.url,
            body=request.body,
            headers={**request.headers, "Host": target.host_header},
            server_name=target.server_name,
        )
    except UnsafeUrl as exc:
        return AttemptResult(None, _elapsed_ms(started), error=f"unsafe url: {exc}")
    except (httpx.TimeoutException, LookupTimeout):
        return AttemptResult(None, _elapsed_ms(started), error="timeout")
    except httpx.HTTPError as exc:
        return AttemptResult(None, _elapsed_ms(started), error=f"{type(exc).__name__}: {exc}")
    finally:
        _deadline.at = None
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
