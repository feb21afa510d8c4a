"""One mapping from errors to responses.

Field errors keep DRF's shape (`{"field": ["msg"]}`), which Piriod clients parse; every
other error answers `{"detail": "…", "code": "…"}` with a stable machine code.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import Model, ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing.db import unique_field_errors
from billing.errors import DomainError, InvalidInput, nested_field_errors


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"detail": exc.detail, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, ProtectedError | RestrictedError):
        # A delete that a protected foreign key stops: services name their own conflicts
        # with a specific code; any they do not foresee is still a 409, never a 500.
        referrers = (
            exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        )
        message = f"It cannot be deleted: other objects refer to it, {_describe(referrers)}."
        return Response({"detail": message, "code": "protected"}, status=409)
    if isinstance(exc, IntegrityError) and (errors := unique_field_errors(exc)) is not None:
        # A tenant's unique key taken by a request that raced this one past the service's
        # look: the field error the look answers.
        exc = InvalidInput(errors)
    if isinstance(exc, IntegrityError):
        # A database constraint stopped a write a service did not check first (a race,
        # or a rule only the database enforces). The savepoint the handler ran in is
        # rolled back (billing.api.viewsets); the request changed nothing.
        return Response(
            {
                "detail": "The request conflicts with the current state of the data.",
                "code": "conflict",
            },
            status=409,
        )
    if isinstance(exc, InvalidInput):
        exc = exceptions.ValidationError(nested_field_errors(exc.errors))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "Request body is too large.", "code": "request_too_large"}, status=413
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or isinstance(exc, exceptions.ValidationError):
        return response
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail: Any = exc.detail
        if isinstance(detail, dict) and "detail" in detail:
            # simplejwt nests its own {"detail", "code", "messages"} in the exception.
            code = str(detail.get("code") or code)
            detail = detail["detail"]
        if isinstance(detail, list) and all(isinstance(d, str) for d in detail):
            detail = " ".join(detail)
        response.data = {
            "detail": detail if isinstance(detail, dict | list) else str(detail),
            "code": code,
        }
    return response


def _describe(objects: Any, shown: int = 3) -> str:
    """`intent int_…` or `2 intents (int_…, int_…)`, per model, at most `shown` ids each."""
    by_model: dict[type[Model], list[str]] = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(str(obj.pk))
    parts = []
    for model, ids in sorted(by_model.items(), key=lambda item: item[0]._meta.label):
        ids.sort()
        listed = ", ".join(ids[:shown]) + (", …" if len(ids) > shown else "")
        meta = model._meta
        name = meta.verbose_name if len(ids) == 1 else f"{len(ids)} {meta.verbose_name_plural}"
        parts.append(f"{name} ({listed})")
    return " and ".join(parts) or "other objects"


# Documentation only: the shapes above, as OpenAPI components (billing.api.schema).


class ErrorSerializer(serializers.Serializer):
    """An error that is not about a field: a message and a stable machine `code`."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text="A stable machine-readable code.")


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: field errors in DRF's shape `{"field": ["message"], "non_field_errors":
    ["message"]}`, nested for nested objects, or `{"detail", "code"}` when the request as a
    whole is malformed (bad JSON, a missing workspace header). Its schema is written out
    in billing.api.schema, since the keys are the fields of each request."""
