"""Request ids for every response and log line, the request body size limit, and the
refusal of compressed request bodies."""

import contextvars
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ulid import ULID

REQUEST_ID_HEADER = "X-Request-Id"
# Read from META: `request.headers` would build a mapping of every header for it.
_REQUEST_ID_META_KEY = "HTTP_X_REQUEST_ID"
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# A caller may pass its own id (to follow a call across systems) if it is tame.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get(_REQUEST_ID_META_KEY, "")
        request_id = incoming if _ACCEPTABLE_ID.match(incoming) else f"req_{ULID()}"
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class BodySizeLimitMiddleware:
    """Refuse a declared body over the limit with 413 before reading it.

    A body without a Content-Length is capped by Django's DATA_UPLOAD_MAX_MEMORY_SIZE,
    which the API's exception handler also maps to 413.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                {"detail": "Invalid Content-Length header.", "code": "invalid_content_length"},
                status=400,
            )
        if length > settings.REQUEST_BODY_MAX_BYTES:
            return JsonResponse(
                {
                    "detail": (
                        f"Request body is larger than {settings.REQUEST_BODY_MAX_BYTES} bytes."
                    ),
                    "code": "request_too_large",
                },
                status=413,
            )
        return self.get_response(request)


class ContentEncodingMiddleware:
    """Refuse a body sent with a Content-Encoding (gzip, deflate, br) with 415.

    Neither Piriod's nor Stripe's API takes compressed request bodies, so no client of
    theirs sends one; reading such a body as JSON would misread it, and inflating it would
    make the body size limit apply to the compressed bytes only. RFC 7694: the answer
    names the one coding accepted, `identity`, in Accept-Encoding.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "")
        codings = {c.strip().lower() for c in encoding.split(",")} - {"", "identity"}
        if codings and _has_body(request):
            response = JsonResponse(
                {
                    "detail": (
                        f"Content-Encoding {encoding.strip()} is not supported; send the "
                        "body uncompressed (Content-Encoding: identity, or none)."
                    ),
                    "code": "unsupported_content_encoding",
                },
                status=415,
            )
            response["Accept-Encoding"] = "identity"
            return response
        return self.get_response(request)


def _has_body(request: HttpRequest) -> bool:
    length = request.META.get("CONTENT_LENGTH") or "0"
    return length != "0" or "HTTP_TRANSFER_ENCODING" in request.META
