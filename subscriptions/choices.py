from django.db import models


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINALIZED = "finalized"  # its billing_cycles are all billed
    NEEDS_ATTENTION = "needs_attention"  # billing stops until someone resumes it


# Every allowed (from, to) pair; anything else is `subscription_invalid_transition`.
SUBSCRIPTION_TRANSITIONS = {
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED),
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED),
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.FINALIZED),
    (SubscriptionStatus.ACTIVE, SubscriptionStatus.NEEDS_ATTENTION),
    (SubscriptionStatus.PAUSED, SubscriptionStatus.ACTIVE),
    (SubscriptionStatus.PAUSED, SubscriptionStatus.CANCELLED),
    (SubscriptionStatus.NEEDS_ATTENTION, SubscriptionStatus.ACTIVE),
    (SubscriptionStatus.NEEDS_ATTENTION, SubscriptionStatus.CANCELLED),
    # Its held periods billed, the last of its `billing_cycles` among them.
    (SubscriptionStatus.NEEDS_ATTENTION, SubscriptionStatus.FINALIZED),
}

# Statuses whose cycles are billed.
BILLABLE_STATUSES = (SubscriptionStatus.ACTIVE,)
# Statuses that hold billing until resumed. A cancellation at period end still takes
# effect in them, when the period ends, as it would have in an active one.
HELD_STATUSES = (SubscriptionStatus.PAUSED, SubscriptionStatus.NEEDS_ATTENTION)
# The subscriptions a cycle acts on once `next_billing_at` comes: billed, or cancelled at
# period end. The due index's predicate, which the due read repeats to range over it.
CYCLE_DUE = models.Q(status__in=BILLABLE_STATUSES) | models.Q(
    status__in=HELD_STATUSES, cancel_at_period_end=True
)


def cycle_due(status: str, cancel_at_period_end: bool) -> bool:
    """CYCLE_DUE for one subscription."""
    return status in BILLABLE_STATUSES or (status in HELD_STATUSES and cancel_at_period_end)


class CollectionScheme(models.TextChoices):
    SEND_INVOICE = "send_invoice"
    CHARGE_PAYMENT = "charge_payment"


class NeedsAttentionReason(models.TextChoices):
    BILLER_ISSUE = "biller_issue"
    GATEWAY_ISSUE = "gateway_issue"
    REFERENCE_EXPIRED = "reference_expired"
    WITHOUT_USAGE_RECORDS = "without_usage_records"
    PROCESSING_ISSUE = "processing_issue"
    WITHOUT_REFERENCE = "without_reference"


class CancelReason(models.TextChoices):
    CUSTOM = "custom"
    FRAUD_REVIEW_FAILED = "fraud_review_failed"
    INSOLVENCY = "insolvency"
    NO_CARD = "no_card"
    NON_COMPLIANT_CUSTOMER = "non_compliant_customer"
    NOT_PAID = "not_paid"
    NOT_SPECIFIED = "not_specified"
    SHUTDOWN_OPS = "shutdown_ops"


class PausedReason(models.TextChoices):
    NOT_SPECIFIED = "not_specified"
    NON_COMPLIANT_CUSTOMER = "non_compliant_customer"
    CUSTOM = "custom"


class BilledKind(models.TextChoices):
    CYCLE = "cycle"  # a period's invoice, issued by a billing cycle
    PRORATION = "proration"  # the rest of a period after a plan change
    FINAL = "final"  # the usage of the last period of a cancelled subscription


class CollectionStatus(models.TextChoices):
    """What is left to do for a billed period once its invoice is committed."""

    REVIEW = "review"  # the invoice is a draft awaiting review; collected once finalized
    PENDING = "pending"  # charge or send due at `next_attempt_at`
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries spent; the subscription needs attention


# Failed automatic charges are retried this many days after the first failure (rules §7).
CHARGE_RETRY_DAYS = (1, 3, 5, 7)
# A collection attempt in flight holds its period this long; a worker that dies
# mid-attempt leaves it to be picked up again afterwards.
COLLECTION_LEASE_SECONDS = 300
