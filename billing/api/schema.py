"""OpenAPI: the tenant headers and Idempotency-Key on every operation that takes them,
the error responses each operation can give (billing.api.errors' shapes), and PUT bodies
as partial as PATCH ones."""

import copy
import inspect
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import (
    ResolvedComponent,
    build_parameter_type,
    force_instance,
    get_doc,
    get_override,
    is_serializer,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers

from billing.api.errors import ErrorSerializer, ValidationErrorSerializer
from billing.api.negotiation import ContentNegotiation
from billing.api.viewsets import PartialUpdateModelMixin, TenantViewSet, TransactionalAPIView
from billing.representations import (
    EXPANDABLE,
    METADATA_KEY_MAX_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX_LENGTH,
    expandable_fields,
)
from billing.tenancy import TEST_MODE_HEADER, WORKSPACE_HEADER, IsWorkspaceMember

_BODY_METHODS = ("POST", "PUT", "PATCH")
_TEXT_FORMATS = ("email", "uri")
_OUTER_KEYS = ("readOnly", "writeOnly", "nullable", "description", "title")


def _model_field(field: Any) -> Any:
    """The model field a serializer field shows (by its `source`), if any."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source or field.source == "*":
        return None
    try:
        model_field = model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return None
    return model_field if isinstance(model_field, models.Field) else None  # not a relation


def _own_doc(cls: type) -> str:
    """The docstring `cls` declares itself, cleaned as drf-spectacular cleans one."""
    doc = vars(cls).get("__doc__")
    return "\n".join(line.rstrip() for line in inspect.cleandoc(doc).split("\n")) if doc else ""


class AutoSchema(SpectacularAutoSchema):
    def get_description(self) -> str:  # type: ignore[override]
        # A view's own docstring, not one it inherits: a base class's (a mixin's, the
        # tenant viewset's) speaks to developers, and drf-spectacular would show it as
        # the description of every route of every view without one.
        action_or_method = getattr(
            self.view, getattr(self.view, "action", self.method.lower()), None
        )
        own_doc = vars(type(self.view)).get("__doc__")
        return get_doc(action_or_method) or (get_doc(type(self.view)) if own_doc else "")

    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> Any:
        # PUT updates partially (PartialUpdateModelMixin): its body is PATCH's, every
        # field optional, so it names the same Patched… component.
        if (
            self.method == "PUT"
            and isinstance(self.view, PartialUpdateModelMixin)
            and is_serializer(serializer)
        ):
            serializer = copy.copy(force_instance(serializer))
            serializer.partial = True
        return super()._get_request_for_media_type(serializer, direction)

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        # A component says what its own serializer says, not what a base class it inherits
        # from does: a shared base's docstring speaks of the base (the totals every
        # document stores, read-only), which would describe request bodies wrongly.
        schema = super()._map_basic_serializer(serializer, direction)
        serializer = force_instance(serializer)
        schema.pop("description", None)
        description = get_override(serializer, "description", _own_doc(type(serializer)))
        if description:
            schema["description"] = description
        return schema

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any] | None:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema and isinstance(field, serializers.DecimalField):
            # Amounts and quantities are JSON numbers written from the Decimal, every digit
            # kept (billing.encoders): `decimal`, not drf-spectacular's `double`, which
            # would tell a client generator it may read them as floats.
            schema["format"] = "decimal"
        if schema and direction == "response":
            schema = self._expandable_field(field, schema)
        if (
            schema
            and schema.get("type") == "array"
            and getattr(field, "allow_empty", True) is False
        ):
            schema.setdefault("minItems", 1)  # ListField(allow_empty=False)
        # A read-only field declared on a serializer shows its model column as it is:
        # null when the column is nullable, "" when it may be blank (drf-spectacular
        # derives both only for the fields ModelSerializer builds).
        model_field = _model_field(field) if schema and field.read_only else None
        if model_field is not None and model_field.null and "type" in schema:
            schema["nullable"] = True
        if model_field is not None and model_field.blank and schema.get("format") in _TEXT_FORMATS:
            outer = {k: v for k, v in schema.items() if k in _OUTER_KEYS}
            inner = {k: v for k, v in schema.items() if k not in _OUTER_KEYS}
            schema = {**outer, "oneOf": [inner, {"type": "string", "maxLength": 0}]}
        return schema

    def _expandable_field(self, field: Any, schema: dict[str, Any]) -> dict[str, Any]:
        """A field `?expand=` may name is its id, or the whole object when expanded."""
        name = getattr(field, "field_name", None)
        if name not in expandable_fields(type(field.parent)):
            return schema
        expanded = self.resolve_serializer(EXPANDABLE[name], "response")
        outer = {k: v for k, v in schema.items() if k in _OUTER_KEYS}
        inner = {k: v for k, v in schema.items() if k not in _OUTER_KEYS}
        return {**outer, "oneOf": [inner, expanded.ref]}

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in self._error_responses().items():
            # A view declaring its 400 as ValidationErrorSerializer means the shape; the
            # keys are the operation's own (_validation_error).
            if code not in responses or (code == "400" and self._is_plain_validation_error()):
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _is_plain_validation_error(self) -> bool:
        declared = self.get_response_serializers()
        if not isinstance(declared, dict):
            return False
        return ValidationErrorSerializer in (declared.get(400), declared.get("400"))

    def _error_responses(self) -> dict[str, OpenApiResponse]:
        """The errors an operation can answer, from what the view is (see api.md §1)."""
        perms = self.view.get_permissions()
        tenant = any(isinstance(p, IsWorkspaceMember) for p in perms)
        authenticated = bool(perms) and not any(isinstance(p, permissions.AllowAny) for p in perms)
        reads_body = self.method in _BODY_METHODS or (
            self.method == "DELETE" and getattr(self.view, "reads_delete_body", False)
        )
        listing = self.method == "GET" and self._is_list_view()
        detail = "{" in self.path

        def error(description: str) -> OpenApiResponse:
            return OpenApiResponse(ErrorSerializer, description=description)

        errors: dict[str, OpenApiResponse] = {}
        # Any operation: billing.middleware refuses a Content-Length that is not a number
        # (400) or over the limit (413) before the request is routed, whatever its method.
        errors["400"] = OpenApiResponse(
            self._validation_error(reads_body),
            description="Invalid input: field errors, a malformed body, query or header.",
        )
        if authenticated:
            errors["401"] = error("Missing, invalid or revoked credentials.")
        if tenant:
            errors["403"] = error("Not a member of the workspace named by x-simple-workspace.")
        if detail or listing:
            errors["404"] = error("No such object in this workspace and mode, or no such page.")
        # An Accept naming no type the operation renders is refused before the view runs,
        # except where a file route answers its file whatever Accept says.
        if issubclass(self.view.content_negotiation_class, ContentNegotiation):
            errors["406"] = error("The Accept header names no media type this operation answers.")
        writes = self.method not in permissions.SAFE_METHODS or self._action_writes()
        if writes and self._takes_idempotency_key():
            errors["409"] = error("State conflict, or the Idempotency-Key is in use.")
        elif writes and isinstance(self.view, TransactionalAPIView):
            errors["409"] = error("State conflict.")  # the services' rules, without a tenant
        errors["413"] = error("The request body is too large.")
        if reads_body:
            errors["415"] = error("The body is not JSON, or is sent compressed (Content-Encoding).")
        if self.method == "POST" and self._takes_idempotency_key():
            errors["422"] = error("The Idempotency-Key was used with a different request.")
        if self.view.get_throttles():
            errors["429"] = error("Rate limited; retry after the Retry-After header's seconds.")
        return errors

    def _validation_error(self, reads_body: bool) -> Any:
        """The 400 this operation answers: `ValidationError`'s keys (detail, code,
        non_field_errors) and one per field of its body and per query parameter, since
        each error is keyed by what it is about. Without either, `ValidationError`."""
        keys: dict[str, Any] = {}
        # The answer's fields too: a body may repeat them (a retrieved object PUT back),
        # and a read-only one sent changed is answered under its name (a status).
        bodies = [self.get_request_serializer(), self._answer_serializer()] if reads_body else []
        for serializer in bodies:
            if is_serializer(serializer):
                for name, field in force_instance(serializer).fields.items():
                    keys.setdefault(name, _field_errors(field))
        for parameter in self._get_parameters():
            if parameter["in"] == "query":
                keys.setdefault(parameter["name"], _MESSAGES)
        base = self.resolve_serializer(ValidationErrorSerializer, "response")
        if not keys:
            return base.ref
        words = self.get_operation_id().split("_")
        name = "".join(word[:1].upper() + word[1:] for word in words) + "ValidationError"
        properties = dict(base.schema["properties"])
        for key, errors in keys.items():
            # A field named like a key of the malformed-request shape (a coupon's `code`)
            # may answer either.
            shared = properties.get(key)
            properties[key] = errors if shared in (None, errors) else {"anyOf": [shared, errors]}
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema={**base.schema, "properties": properties},
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _answer_serializer(self) -> Any:
        """The serializer of the operation's success answer, if it has one."""
        declared = self.get_response_serializers()
        if isinstance(declared, dict):
            return declared.get(200) or declared.get(201)
        return declared

    def _takes_idempotency_key(self) -> bool:
        return isinstance(self.view, TransactionalAPIView) and self.view.takes_idempotency_key()

    def _action_writes(self) -> bool:
        """A GET that runs an action POST runs too (finalize by GET, as Piriod allows): it
        changes state, so it can conflict like the POST."""
        action = getattr(self.view, "action", None)
        mapping = getattr(getattr(self.view, action, None), "mapping", {}) if action else {}
        return any(method.upper() not in permissions.SAFE_METHODS for method in mapping)

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        expandable = self.view.expandable() if isinstance(self.view, TenantViewSet) else []
        if expandable and self.method != "DELETE":
            parameters.append(
                build_parameter_type(
                    name="expand",
                    schema={"type": "string", "enum": expandable},
                    location=OpenApiParameter.QUERY,
                    description="Show the named related object whole in place of its id.",
                )
            )
        if any(isinstance(p, IsWorkspaceMember) for p in self.view.get_permissions()):
            parameters += [
                build_parameter_type(
                    name=WORKSPACE_HEADER,
                    schema={"type": "string", "pattern": "^acc_[0-9A-Z]{26}$"},
                    location=OpenApiParameter.HEADER,
                    required=True,
                    description="The workspace (`acc_…`) the call acts in.",
                ),
                build_parameter_type(
                    name=TEST_MODE_HEADER,
                    # Sent as `true` / `false` (any case), as a boolean header is.
                    schema={"type": "boolean", "default": False},
                    location=OpenApiParameter.HEADER,
                    description="`true` acts on test-mode data.",
                ),
            ]
        if self.method == "POST" and self._takes_idempotency_key():
            parameters.append(
                build_parameter_type(
                    name="Idempotency-Key",
                    schema={"type": "string", "minLength": 1, "maxLength": 255},
                    location=OpenApiParameter.HEADER,
                    description=(
                        "Replays the first response for 24 hours when the same key is "
                        "sent again with the same body."
                    ),
                )
            )
        return parameters


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "billing.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`",
        }


class JwtScheme(OpenApiAuthenticationExtension):
    target_class = "billing.auth.JwtAuthentication"
    name = "Jwt"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


# A plain field's errors: its messages.
_MESSAGES = {"type": "array", "items": {"type": "string"}}
# A field holding objects (lines, an address) answers its errors in the same shape, per
# nested field or per item.
_NESTED_ERRORS = {"description": "Errors of the nested object or items, in this same shape."}


def _field_errors(field: serializers.Field) -> dict[str, Any]:
    nested = (serializers.BaseSerializer, serializers.ListField, serializers.DictField)
    return _NESTED_ERRORS if isinstance(field, nested) else _MESSAGES


class ValidationErrorScheme(OpenApiSerializerExtension):
    """The keys every 400 may carry; each operation's own 400 adds its fields and query
    parameters (AutoSchema._validation_error)."""

    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "description": (
                "Field errors `{field: [message]}` (nested for nested objects) and "
                "`non_field_errors`; or `{detail, code}` for a malformed request. A "
                "field the operation does not take is answered under the name it was "
                "sent with."
            ),
            "properties": {
                "detail": {"type": "string"},
                "code": {"type": "string", "description": "A stable machine-readable code."},
                "non_field_errors": _MESSAGES,
            },
            "additionalProperties": _MESSAGES,
        }


class MetadataScheme(OpenApiSerializerFieldExtension):
    """Every resource's `metadata` is one component, so clients get one Metadata type."""

    target_class = "billing.representations.MetadataField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        component = ResolvedComponent(
            name="Metadata",
            type=ResolvedComponent.SCHEMA,
            object="billing.representations.MetadataField",
            schema={
                "type": "object",
                "description": (
                    f"Your own string keys (1-{METADATA_KEY_MAX_LENGTH} characters) and "
                    f"string values (up to {METADATA_VALUE_MAX_LENGTH}); at most "
                    f"{METADATA_MAX_KEYS} keys. Filter lists with `?metadata__<key>=<value>`."
                ),
                "additionalProperties": {
                    "type": "string",
                    "maxLength": METADATA_VALUE_MAX_LENGTH,
                },
                "maxProperties": METADATA_MAX_KEYS,
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


__all__ = [
    "ApiTokenScheme",
    "AutoSchema",
    "JwtScheme",
    "MetadataScheme",
    "OpenApiTypes",
    "ValidationErrorScheme",
]
