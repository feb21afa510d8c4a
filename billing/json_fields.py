"""JSON columns of a known shape.

The admin's JSON box takes any JSON, and the API's serializers read these columns back
as objects or lists of items: another shape stored in one made the admin page and every
later read of the row a 500. The shape is checked where every form checks a model, its
field's validation, so each column is declared once and no form needs its own check.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.module_loading import import_string
from rest_framework.exceptions import ValidationError as ApiValidationError

from billing.encoders import JSONDecoder, JSONEncoder


class ObjectJSONField(models.JSONField):
    """A JSON object (`{}` by default); validation refuses any other JSON value."""

    # Model validation skips a blank field's empty values, and `[]` is one: only `{}` is
    # empty here. An emptied box (None) is no settings, `{}`.
    empty_values = [{}]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("encoder", JSONEncoder)
        kwargs.setdefault("decoder", JSONDecoder)
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        return {} if value is None else super().to_python(value)

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        if not isinstance(value, dict):
            raise ValidationError(
                'An object, e.g. {"cl_activity_description": "Imprenta"}.', code="invalid"
            )

    def deconstruct(self) -> Any:
        # Migrations see the plain JSONField: the column is the same, the shape is
        # checked in Python only, so declaring a column with this class needs none.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


class ListJSONField(models.JSONField):
    """A JSON list (`[]` by default) whose validation is the API's: `api_field` names the
    serializer field that writes the column, "package.module.Serializer.field", and a
    value that field refuses is refused with its messages. Named rather than imported:
    the serializers import the models."""

    # As for ObjectJSONField: only `[]` is empty, so `{}` or `""` are checked, and an
    # emptied box (None) is an empty list.
    empty_values = [[]]

    def __init__(self, *args: Any, api_field: str = "", **kwargs: Any) -> None:
        self.api_field = api_field
        kwargs.setdefault("encoder", JSONEncoder)
        kwargs.setdefault("decoder", JSONDecoder)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    @cached_property
    def _serializer_field(self) -> Any:
        path, name = self.api_field.rsplit(".", 1)
        return import_string(path)().fields[name]

    def to_python(self, value: Any) -> Any:
        return [] if value is None else super().to_python(value)

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        if not isinstance(value, list):
            raise ValidationError("A list, e.g. [].", code="invalid")
        if not self.api_field:
            return
        try:
            self._serializer_field.run_validation(value)
        except ApiValidationError as exc:
            raise ValidationError(api_messages(exc.detail), code="invalid") from None

    def deconstruct(self) -> Any:
        # As for ObjectJSONField: the column is a plain JSONField, checked in Python only.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


def api_messages(detail: Any, where: str = "") -> list[str]:
    """A serializer's nested errors as flat messages naming where each is: "Item 2:
    date: …" (items counted from 1, as a person reads a list)."""
    if isinstance(detail, dict):
        return [
            message
            for key, nested in detail.items()
            for message in api_messages(nested, _within(where, key))
        ]
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [f"{where}: {item}" if where else str(item) for item in detail]
        return [
            message
            for index, nested in enumerate(detail)
            for message in api_messages(nested, _within(where, f"Item {index + 1}"))
        ]
    return [f"{where}: {detail}" if where else str(detail)]


def _within(where: str, key: Any) -> str:
    if key == "non_field_errors":
        return where
    if isinstance(key, int):
        key = f"Item {key + 1}"
    return f"{where}: {key}" if where else str(key)
