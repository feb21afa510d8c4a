from decimal import Decimal
from typing import Any

from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS


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


def money_field(**kwargs: Any) -> models.DecimalField:
    kwargs.setdefault("default", Decimal(0))
    return models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs
    )
