"""Request ids for every response and log line, and the request body size limit."""

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
