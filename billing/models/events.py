from django.db import models

from billing.ids import public_id_field
from billing.models.base import TenantModel


class Event(TenantModel):
    """A domain event, written in the same transaction as the change that caused it.

    This table is the outbox: whatever delivers events (webhooks) reads it after commit,
    so a crash between the change and the delivery loses nothing.
    """

    id = public_id_field("evt")
    type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=40, db_index=True)
    data = models.JSONField()

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["workspace", "test_mode", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"
