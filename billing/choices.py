"""Choices of the fiscal documents every app issues or receives (billing.models.documents)."""

from django.db import models


class BillerStatus(models.TextChoices):
    PENDING = "pending"  # finalized, not yet sent to the tax agency
    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DiscountScheme(models.TextChoices):
    PERCENT = "%"
    AMOUNT = "$"
