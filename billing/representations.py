"""Base serializers: every id inside a request body is looked up in the caller's tenant.

Each app's `representations.py` builds its objects' output on these; the API responds
with them and events carry them (`snapshot`), so services never import `api/`."""

import base64
import copy
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, cast
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.addresses import comuna_code
from billing.encoders import JSONDecoder, JSONEncoder, json_text
from billing.instants import INSTANT_FORMAT, instant_parse
from billing.metadata import (
    METADATA_KEY_MAX_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX_LENGTH,
)
from billing.models import Certificate, Comuna, FolioRange
from billing.money import QUANTITY_DECIMAL_PLACES, QUANTITY_MAX_DIGITS

# Related objects a response may show whole in place of their id, as Piriod's
# `?expand=customer` does: the field name and the related object's representation,
# registered by the app that owns it (customers, in its apps.py), since the kernel
# imports no app.
EXPANDABLE: dict[str, type[serializers.Serializer]] = {}


def quantity_field(**kwargs: Any) -> serializers.DecimalField:
    """A quantity as its columns store it (billing.models.quantity_field): any quantity
    stored can be shown, and one that cannot be stored is a 400."""
    return serializers.DecimalField(
        max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES, **kwargs
    )


class WorkspaceDateTimeField(serializers.DateTimeField):
    """A datetime as every input of the API reads it (billing.instants): without its UTC
    offset, or as a bare date (its midnight), in the timezone of the request's workspace,
    where its billing dates are computed. Values are kept, and shown, in UTC as by DRF's
    own field: only reading changes, so representations still take the fast way
    (representation_plans). Every input datetime of the API is one: TenantModelSerializer
    maps model datetimes to it, and a serializer declaring one needs the request in its
    context."""

    default_error_messages = {"invalid": "{reason}"}

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, datetime):  # given by code, not read from JSON
            return super().to_internal_value(value)
        if not isinstance(value, str):
            self.fail("invalid", reason=f"Not a date and time: {INSTANT_FORMAT}.")
        workspace = getattr(self.context.get("request"), "workspace", None)
        zone = ZoneInfo(workspace.timezone) if workspace is not None else UTC
        try:
            return instant_parse(value, zone)
        except ValueError as exc:
            self.fail("invalid", reason=str(exc))


def expandable_register(name: str, representation: type[serializers.Serializer]) -> None:
    EXPANDABLE[name] = representation


def expand_requested(request: Any) -> set[str]:
    """The names in `?expand=a,b` (or repeated, or Stripe's `expand[]=`)."""
    params = getattr(request, "query_params", None)
    if not params:  # none at all, the common case, asks for nothing
        return set()
    values = params.getlist("expand") + params.getlist("expand[]")
    return {name.strip() for value in values for name in value.split(",") if name.strip()}


def expandable_fields(serializer_class: Any) -> list[str]:
    """The fields of a representation `?expand=` may name."""
    fields = getattr(getattr(serializer_class, "Meta", None), "fields", None) or ()
    return [name for name in fields if name in EXPANDABLE]


def scope_to_tenant(queryset: QuerySet, request: Any) -> QuerySet:
    """The one place a queryset is narrowed to the caller's (workspace, mode)."""
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        return queryset.none()
    return queryset.filter(workspace=workspace, test_mode=request.test_mode)


def json_type_name(value: Any) -> str:
    """How a message to a JSON client names the type of a value parsed from its body
    (fractions parse as Decimals, billing.api.parsers)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal | float):
        return "decimal"
    names = {str: "string", int: "integer", list: "list", dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by its id: a string (a public id, `cus_…`) or an integer (a
    document type's). Any other JSON value is "Incorrect type": looked up as its text, a
    list holding the right id would be answered as an id that does not exist."""

    default_error_messages = {
        "incorrect_type": "Incorrect type. Expected an id, received {data_type}.",
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("incorrect_type", data_type=json_type_name(data))
        return super().to_internal_value(data)


class TenantRelatedField(IdRelatedField):
    """An id in a body: another workspace's or mode's object is "does not exist" (400)."""

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        assert queryset is not None, "a TenantRelatedField needs a queryset"
        return scope_to_tenant(queryset, self.context.get("request"))


class TenantIdField(TenantRelatedField):
    """A TenantRelatedField for a model that keeps the related id as plain text: the id
    must name an object of the caller's tenant, and it is stored and shown as the id."""

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(data).pk

    def to_representation(self, value: Any) -> Any:
        return value

    def use_pk_only_optimization(self) -> bool:
        return False


class CodeField(serializers.SlugRelatedField):
    """Reference data by its natural key: text in any case, or a number read as its text
    (a comuna's 13101, as its help text writes it), so the JSON type a code comes in is
    never what makes it unknown. Any other JSON value is "Incorrect type"."""

    default_error_messages = {
        "incorrect_type": "Incorrect type. Expected a code, received {data_type}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("incorrect_type", data_type=json_type_name(data))
        return super().to_internal_value(self.code(str(data)))

    def code(self, text: str) -> str:
        """The natural key a code sent as `text` names."""
        return text.strip().upper()


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "integer"}],
        "description": 'The comuna\'s Código Único Territorial, as text (`"05101"`) or a '
        "number (`5101`), as `/generals/comunas/` lists them; shown as the text.",
    }
)
class ComunaField(CodeField):
    """A Chilean comuna by its five-digit code, sent as a number without the leading zero
    of regions 1 to 9 too (billing.addresses.comuna_code)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Comuna.objects.all())
        super().__init__(**kwargs)

    def code(self, text: str) -> str:
        return comuna_code(super().code(text))


class JSONValueField(serializers.JSONField):
    """Any JSON value, numbers included: the parser reads fractions as Decimals, which
    DRF's JSONField, checking the value with the standard encoder, refuses as invalid."""

    def __init__(self, **kwargs: Any) -> None:
        # A model's JSONField without its own encoder passes None: take ours then too.
        kwargs["encoder"] = kwargs.get("encoder") or JSONEncoder
        kwargs["decoder"] = kwargs.get("decoder") or JSONDecoder
        super().__init__(**kwargs)


class MetadataValueField(serializers.CharField):
    """A metadata value: text, or a number stored as its text (`1.50` as "1.50"), as DRF's
    CharField does for ints and floats; the JSON parser gives Decimals for fractions."""

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(str(data) if isinstance(data, Decimal) else data)


class MetadataField(serializers.DictField):
    """String keys and values, Stripe's limits: 50 keys, keys ≤ 40, values ≤ 500 chars."""

    child = MetadataValueField(max_length=METADATA_VALUE_MAX_LENGTH, allow_blank=True)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        if len(value) > METADATA_MAX_KEYS:
            raise serializers.ValidationError(f"At most {METADATA_MAX_KEYS} keys.")
        for key in value:
            if not key or len(key) > METADATA_KEY_MAX_LENGTH:
                raise serializers.ValidationError(
                    f"Keys are 1 to {METADATA_KEY_MAX_LENGTH} characters."
                )
        return value


class FieldsBuiltOnceMixin:
    """A serializer whose fields are built once per class, not on every instance.

    DRF builds a ModelSerializer's fields from the model on each instance (reading the
    model's options, mapping every column), which costs more than serializing an object.
    The fields depend on the class alone (no serializer here overrides `get_fields`), so
    the first instance builds them and later ones take copies: a plain field is copied
    shallowly (binding it to its serializer sets attributes on the copy only), one that
    holds other fields (a nested serializer, a list or dict field's child) deeply, as
    DRF does, since its children are bound to it."""

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()  # type: ignore[misc]
            cls._fields_built_once = built  # type: ignore[attr-defined]
        return {name: _field_copy(field) for name, field in built.items()}


def _field_copy(field: serializers.Field) -> serializers.Field:
    holds_fields = isinstance(field, serializers.BaseSerializer) or any(
        hasattr(field, name) for name in ("child", "child_relation")
    )
    return copy.deepcopy(field) if holds_fields else copy.copy(field)


# Read-only fields that no body may change, on every resource that has them: a state a
# Piriod client asks for in a PUT, or a mode named in a body, is refused, never answered
# 200 unchanged (a serializer may name what sets them more precisely).
READ_ONLY_SET_BY_DEFAULT = {
    "status": "The status changes with this resource's actions, not with a body.",
    "test_mode": "The mode is the x-piriod-test-mode header's, not the body's.",
}


class StrictFieldsMixin(FieldsBuiltOnceMixin):
    """Unknown body fields are a 400, as in Stripe, so a typo is never silently dropped.

    So is a read-only field named in `read_only_set_by` (a status, a number) sent with a
    value other than the object shows: the caller asked for a change the body cannot
    make, and the message says what makes it. Every read-only `status` and `test_mode`
    column is such a field, with a general message unless the serializer names what sets
    it. The value the
    object shows (a new one's at create) is accepted, as a retrieved object PUT back
    carries it. Other read-only fields in a body (totals, ids) are ignored."""

    instance: Any
    # Read-only field → what sets it instead of a body.
    read_only_set_by: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, list[str]] = {}
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]
            errors = {k: ["Unknown field."] for k in sorted(str(k) for k in data if k not in known)}
            for name, message in self._read_only_set_by().items():
                if name in data and not self.read_only_accepts(name, data[name]):
                    errors[name] = [message]
            errors.update(self._missing_in_nested_object(data))
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            # Answered with the other fields' errors, so one answer names all to fix.
            if not errors or not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError({**exc.detail, **errors}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def _missing_in_nested_object(self, data: dict[Any, Any]) -> dict[str, list[str]]:
        """The required fields a nested object (a line, a tier) lacks in a partial update.

        DRF validates the whole body of a PATCH or PUT as partial, nested objects too, and
        so skips their missing required fields; but a nested object replaces the stored
        one whole, and without them it would be stored blank (or not be one at all)."""
        if self.parent is None or not getattr(self.root, "partial", False):  # type: ignore[attr-defined]
            return {}
        fields = self.fields  # type: ignore[attr-defined]
        return {
            name: [field.error_messages["required"]]
            for name, field in fields.items()
            if field.required and not field.read_only and name not in data
        }

    def _read_only_set_by(self) -> dict[str, str]:
        fields = self.fields  # type: ignore[attr-defined]
        model = getattr(getattr(self, "Meta", None), "model", None)
        columns = {field.name for field in model._meta.concrete_fields} if model else set()
        set_by = {
            name: message
            for name, message in READ_ONLY_SET_BY_DEFAULT.items()
            if name in fields and fields[name].read_only and fields[name].source in columns
        }
        return {**set_by, **self.read_only_set_by}

    def read_only_accepts(self, name: str, sent: Any) -> bool:
        """Whether a body may carry `sent` for the read-only field `name`."""
        return bool(sent == self.read_only_shown(name))

    def read_only_shown(self, name: str) -> Any:
        """What the object shows for `name`: the instance's value, or at create the
        model's default, which a new object shows."""
        field = self.fields[name]  # type: ignore[attr-defined]
        if name == "test_mode" and self.instance is None:
            # A new object is made in the request's mode.
            request = self.context.get("request")  # type: ignore[attr-defined]
            return bool(getattr(request, "test_mode", False))
        if self.instance is None:
            model = self.Meta.model  # type: ignore[attr-defined]
            return model._meta.get_field(field.source).get_default()
        value = field.get_attribute(self.instance)
        return None if value is None else field.to_representation(value)


class TenantModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    serializer_related_field = TenantRelatedField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: WorkspaceDateTimeField,
        models.JSONField: JSONValueField,
    }

    created = serializers.DateTimeField(source="created_at", read_only=True)
    updated = serializers.DateTimeField(source="updated_at", read_only=True)
    test_mode = serializers.BooleanField(read_only=True)
    metadata = MetadataField(required=False)

    TENANT_FIELDS = ("id", "metadata", "test_mode", "created", "updated")

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        if self._is_response_object():
            request = self.context.get("request")
            expanded = expand_requested(request) & set(expandable_fields(type(self)))
            for name in sorted(expanded):
                data[name] = self._expanded(name, getattr(instance, name))
        return data

    def _is_response_object(self) -> bool:
        # The object a response shows (or one of its list), not one nested in another.
        parent = self.parent
        if isinstance(parent, serializers.ListSerializer):
            parent = parent.parent
        return parent is None

    def _expanded(self, name: str, related: Any) -> Any:
        if related is None:
            return None
        # A list page shows each related object once, however many rows name it.
        cache = cast(dict[str, Any], self.context).setdefault("expanded", {})
        key = (name, related.pk)
        if key not in cache:
            cache[key] = EXPANDABLE[name](related, context=self.context).data
        return cache[key]


def json_data(data: Any) -> dict[str, Any]:
    """Data as an event stores it: plain JSON values, as `JSONEncoder` writes them and its
    column reads them back (amounts as Decimals)."""
    plain: dict[str, Any] = json.loads(json_text(data, JSONEncoder), cls=JSONDecoder)
    return plain


def snapshot(
    representation: type[serializers.BaseSerializer],
    instance: Any,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What an event carries: the object as the API shows it at the time of the event."""
    return json_data(representation(instance, context=context or {}).data)


# The SII writes its XML in ISO-8859-1, and a CAF file need not declare it.
SII_XML_ENCODING = "ISO-8859-1"
_XML_DECLARED_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']"""
)


def xml_file_text(content: bytes) -> str:
    """An uploaded XML file's text: in the encoding its declaration names, else UTF-8,
    else the SII's own. ValueError when it is not text in the encoding it names."""
    declared = _XML_DECLARED_ENCODING.match(content.removeprefix(b"\xef\xbb\xbf"))
    if declared is not None:
        encoding = declared.group(1).decode()
        try:
            return content.decode(encoding)
        except LookupError as exc:
            raise ValueError(f"it declares an unknown encoding ({exc}).") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(f"it is not text in the {encoding} it declares.") from exc
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode(SII_XML_ENCODING)


@extend_schema_field({"type": "string", "description": "The XML as text, or the file (multipart)."})
class XmlFileField(serializers.CharField):
    """XML sent as text in JSON, or as the file itself in a multipart form (what a form or
    Piriod's client uploads): the file's bytes read as xml_file_text says."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, UploadedFile):
            try:
                data = xml_file_text(b"".join(data.chunks()))
            except ValueError as exc:
                raise serializers.ValidationError(f"The file cannot be read: {exc}") from exc
        return str(super().to_internal_value(data))


class FolioRangeSerializer(TenantModelSerializer):
    """A loaded CAF: its document type and range. Its private key is never shown."""

    document = serializers.IntegerField(source="document_type_id", read_only=True)
    caf = XmlFileField(
        write_only=True,
        help_text="The AUTORIZACION XML the SII issued (CAF, RSASK, RSAPUBK), as it came: its "
        "text in JSON, or the file in a multipart/form-data upload.",
    )

    valid_until = serializers.DateField(
        read_only=True,
        help_text="The last day its folios may be used, six months from `authorized_on` "
        "(rules.md §8), on the workspace's clock; after it they are skipped.",
    )

    class Meta:
        model = FolioRange
        fields = [
            "id", "document", "first", "last", "authorized_on", "valid_until", "caf",
            "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["first", "last", "authorized_on"]


class CertificateSerializer(TenantModelSerializer):
    """A digital certificate that signs the workspace's DTEs: who it names and until when.
    Its key and the file's password are never shown."""

    pkcs12 = serializers.CharField(
        write_only=True,
        help_text="The PKCS#12 file (.pfx, .p12) the certification authority issued, in base64.",
    )
    password = serializers.CharField(
        write_only=True,
        allow_blank=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="The file's password: it opens the file once and is not kept.",
    )

    class Meta:
        model = Certificate
        fields = [
            "id", "subject", "serial_number", "not_before_at", "not_after_at", "is_sandbox",
            "pkcs12", "password", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = [
            "subject", "serial_number", "not_before_at", "not_after_at", "is_sandbox",
        ]  # fmt: skip

    def validate_pkcs12(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise serializers.ValidationError("Not base64.") from exc


def folio_range_snapshot(folio_range: Any) -> dict[str, Any]:
    return snapshot(FolioRangeSerializer, folio_range)
