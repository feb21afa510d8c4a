from datetime import timedelta

from django.db import models


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its first attempt or its next retry
    SENDING = "sending"  # an attempt holds the lease
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries exhausted


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)

# Waits after the 1st, 2nd, … failed attempt: about three days in all, then give up.
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
RETRY_JITTER = 0.1  # ± this share of each wait, so retries of many endpoints spread out
MAX_RETRY_AFTER = timedelta(hours=24)
# Consecutive failed attempts after which an endpoint is flagged as failing.
FAILING_AFTER = 3
# Rotated-out secrets keep signing this long, so receivers can switch without a gap.
SECRET_OVERLAP = timedelta(hours=24)
# At most this many rotated-out secrets sign at once (each adds a signature to every
# delivery); a rotation that would need one more is refused until the oldest expires.
MAX_PREVIOUS_SECRETS = 5
