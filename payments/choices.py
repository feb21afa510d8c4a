from django.db import models


class PaymentStatus(models.TextChoices):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    PROCESSING = "processing"  # the gateway has not answered yet (e.g. waiting for 3-D Secure)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"


# Every allowed (from, to) pair; anything else is refused with `payment_invalid_transition`.
PAYMENT_TRANSITIONS = {
    (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.PROCESSING),
    (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.SUCCEEDED),
    (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.FAILED),
    (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.CANCELLED),
    (PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED),
    (PaymentStatus.PROCESSING, PaymentStatus.FAILED),
    (PaymentStatus.PROCESSING, PaymentStatus.CANCELLED),
    (PaymentStatus.PROCESSING, PaymentStatus.INCOMPLETE),
    (PaymentStatus.INCOMPLETE, PaymentStatus.CANCELLED),
}

# Payments whose allocations hold part of an invoice's amount: a new payment may only
# take what these leave, so two payments in flight cannot both take the same amount.
HOLDING_STATUSES = (PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED)


class SourceUsage(models.TextChoices):
    SINGLE = "single"  # consumed by its first successful charge
    REUSABLE = "reusable"


class SourceStatus(models.TextChoices):
    PENDING = "pending"
    REQUIRES_AUTHORIZATION = "requires_authorization"
    WAITING_AUTHORIZATION = "waiting_authorization"
    CHARGEABLE = "chargeable"
    CONSUMED = "consumed"
    FAILED = "failed"
    FINALIZED = "finalized"


class GatewayKind(models.TextChoices):
    SANDBOX = "sandbox"
    STRIPE = "stripe"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected"
    # The gateway refused the stored key on a later call: the workspace must fix it.
    FAILING = "failing"


class InboundEventStatus(models.TextChoices):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"  # a type we do not act on, or one a newer event overtook
    FAILED = "failed"


class IntentStatus(models.TextChoices):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FINALIZED = "finalized"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


INTENT_TRANSITIONS = {
    (IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.AUTHORIZED),
    (IntentStatus.AUTHORIZED, IntentStatus.CAPTURED),
    (IntentStatus.CAPTURED, IntentStatus.FINALIZED),
    (IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.FAILED),
    (IntentStatus.AUTHORIZED, IntentStatus.FAILED),
    (IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.CANCELLED),
    (IntentStatus.AUTHORIZED, IntentStatus.CANCELLED),
    (IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.EXPIRED),
}
INTENT_OPEN_STATUSES = (IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.AUTHORIZED)
# How an intent ends unpaid.
INTENT_UNPAID_ENDS = (IntentStatus.EXPIRED, IntentStatus.CANCELLED, IntentStatus.FAILED)


class PaymentLinkState(models.TextChoices):
    """What a link's hosted page shows."""

    OPEN = "open"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # its invoice was cancelled: nothing is left to pay
