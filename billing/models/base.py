from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from billing.bulk import plain_instance
from billing.encoders import JSONDecoder, JSONEncoder
from billing.metadata import metadata_errors
from billing.money import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    QUANTITY_DECIMAL_PLACES,
    QUANTITY_MAX_DIGITS,
)


class TenantModel(models.Model):
    """Every resource belongs to exactly one (workspace, mode).

    Subclasses declare their own `id = public_id_field("cus")`. The API's base viewset
    and related fields scope every query by `workspace` and `test_mode`.
    """

    workspace = models.ForeignKey("billing.Workspace", on_delete=models.PROTECT, related_name="+")
    test_mode = models.BooleanField(default=False)
    metadata = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder, default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        # The admin's JSON box takes any JSON; the API reads metadata back as a flat
        # object of text and fails on anything else, so the forms refuse what it refuses.
        errors: dict[str, Any] = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        checked = exclude is None or "metadata" not in exclude
        if checked and (problems := metadata_errors(self.metadata)):
            errors.setdefault("metadata", []).extend(problems)
        if errors:
            raise ValidationError(errors)


class LoadedPlainly:
    """For a model whose rows are read by the thousand (a billing cycle's subscriptions
    and lines): a complete row becomes an instance without Model.__init__, which sets
    every column through its descriptor, when `plain_instance` can make it."""

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any
    ) -> Any:
        model: Any = cls
        if len(values) == len(model._meta.concrete_fields) and not kwargs:
            loaded = plain_instance(model, values)
            if loaded is not None:
                loaded._state.adding, loaded._state.db = False, db
                return loaded
        return super().from_db(db, field_names, values, **kwargs)  # type: ignore[misc]


def money_field(**kwargs: Any) -> models.DecimalField:
    kwargs.setdefault("default", Decimal(0))
    return models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs
    )


def quantity_field(**kwargs: Any) -> models.DecimalField:
    """Every quantity column: document lines, subscription lines and usage records."""
    return models.DecimalField(
        max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES, **kwargs
    )
