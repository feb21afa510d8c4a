from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field
from billing.models import TenantModel
from webhooks.choices import FAILING_AFTER, DeliveryStatus


class WebhookEndpoint(TenantModel):
    id = public_id_field("whk")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=256, blank=True)
    # Subscribed event types, or ["*"] for all.
    events = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder, default=list)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=256, blank=True)
    # Kept to sign payloads (HMAC needs the secret itself); never shown after issue.
    secret = models.CharField(max_length=64)
    # Rotated-out secrets that still sign until their overlap ends, newest first:
    # [{"secret": "whsec_…", "expires_at": "2026-03-03T12:00:00+00:00"}, …].
    previous_secrets = models.JSONField(
        encoder=JSONEncoder, decoder=JSONDecoder, default=list, blank=True
    )
    consecutive_failures = models.PositiveIntegerField(default=0)

    @property
    def failing(self) -> bool:
        return self.consecutive_failures >= FAILING_AFTER

    def __str__(self) -> str:
        return f"{self.url} ({self.id})"


DELIVERY_ID_PREFIX = "dlv"


class Delivery(models.Model):
    """One event to one endpoint, tried until it succeeds or its retries run out."""

    id = public_id_field(DELIVERY_ID_PREFIX)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("billing.Event", on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the event so the per-object ordering check is one indexed query.
    object_id = models.CharField(max_length=40)
    sequence = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Attempts made before the latest redelivery: the retry schedule counts from there.
    # A default in the database too, for the statements that write deliveries directly.
    retries_from = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set while the sweep's send message is on the broker (billing/sweeps.py).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="delivery_once_per_endpoint"
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "object_id", "sequence"]),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="delivery_open_due_idx",
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True)
    response_body = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error}"
