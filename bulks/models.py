"""Many invoices or retentions submitted in one request and created by a worker, each
item once, with its own result."""

from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field
from billing.models import TenantModel
from bulks.choices import BulkItemStatus, BulkKind, BulkStatus


class Bulk(TenantModel):
    id = public_id_field("blk")
    kind = models.CharField(max_length=16, choices=BulkKind.choices)
    status = models.CharField(
        max_length=16, choices=BulkStatus.choices, default=BulkStatus.PENDING, db_index=True
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class BulkItem(models.Model):
    """One document's body as submitted, and what became of it: the created object's id,
    or the errors the endpoint would have answered for that body."""

    bulk = models.ForeignKey(Bulk, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    payload = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder)
    status = models.CharField(
        max_length=16, choices=BulkItemStatus.choices, default=BulkItemStatus.PENDING
    )
    object_id = models.CharField(max_length=40, null=True, blank=True)
    errors = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder, default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Times a worker took the item up; counted in a transaction of its own before the
    # document is created, so an attempt whose worker died still counts.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Until when the worker that last took the item up holds it.
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["bulk", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bulk", "position"], name="bulk_item_position_unique"),
            # A created document is always recorded with its item, in one transaction.
            models.CheckConstraint(
                condition=~models.Q(status=BulkItemStatus.SUCCEEDED)
                | models.Q(object_id__isnull=False),
                name="bulk_item_succeeded_has_object",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bulk_id}#{self.position} ({self.status})"


class InvoiceBulk(Bulk):
    """The bulks of invoices, as `/bulks/invoices/` shows them."""

    class Meta:
        proxy = True


class RetentionBulk(Bulk):
    """The bulks of retentions, as `/bulks/retentions/` shows them."""

    class Meta:
        proxy = True
