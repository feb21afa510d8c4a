from django.db import models

# Items one request may carry.
MAX_BULK_ITEMS = 500


class BulkKind(models.TextChoices):
    INVOICES = "invoices"
    RETENTIONS = "retentions"


class BulkStatus(models.TextChoices):
    PENDING = "pending"  # queued, no item done yet
    PROCESSING = "processing"
    COMPLETED = "completed"  # every item succeeded or failed


class BulkItemStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# Times an item is taken up before it is failed: an item whose attempts all ended with
# their worker (killed, out of memory) would otherwise be taken again on every restart.
MAX_ITEM_ATTEMPTS = 3
