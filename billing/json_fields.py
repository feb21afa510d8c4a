"""JSON columns of a known shape.

The admin's JSON box takes any JSON, and the API's serializers read these columns back
as objects: a list or a number stored in one made the admin page and every later read of
the row a 500. The shape is checked where every form checks a model, its field's
validation, so each column is declared once and no form needs its own check.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

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
