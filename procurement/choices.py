from django.db import models


class ProcurementStatus(models.TextChoices):
    """Purchases, purchase credit notes and retentions: recorded, then finalized."""

    DRAFT = "draft"
    FINALIZED = "finalized"


# Every allowed (from, to) pair; anything else is refused.
PROCUREMENT_TRANSITIONS = {(ProcurementStatus.DRAFT, ProcurementStatus.FINALIZED)}
