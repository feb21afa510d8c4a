from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field
from billing.models.base import TenantModel


class Event(TenantModel):
    """A domain event, written in the same transaction as the change that caused it.

    This table is the outbox: publishers (webhooks) read it after commit, and a beat task
    publishes whatever a crash left behind (`published_at` still empty), so nothing is lost
    between the change and its delivery.
    """

    id = public_id_field("evt")
    type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=40, db_index=True)
    # 1, 2, 3… per object: receivers use it to drop a stale event that arrives late.
    sequence = models.PositiveIntegerField()
    data = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder)
    published_at = models.DateTimeField(null=True, blank=True)
    # Set while the sweep's publish message is on the broker (billing/sweeps.py).
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["workspace", "test_mode", "-created_at"]),
            models.Index(
                fields=["created_at"],
                condition=models.Q(published_at__isnull=True),
                name="event_unpublished_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "object_id", "sequence"],
                name="event_object_sequence_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"
