from django.db import models


class CustomerStatus(models.TextChoices):
    ACTIVE = "active"
    ARCHIVED = "archived"
    PENDING = "pending"


# (from, to) pairs a customer may move along.
CUSTOMER_TRANSITIONS = {
    (CustomerStatus.ACTIVE, CustomerStatus.ARCHIVED),
    (CustomerStatus.PENDING, CustomerStatus.ARCHIVED),
    (CustomerStatus.ARCHIVED, CustomerStatus.ACTIVE),
}

CONTACTS_PER_CUSTOMER = 7


class BalanceTransactionKind(models.TextChoices):
    # Credit beyond what an invoice still owed, from a credit note on a paid invoice.
    CREDIT_NOTE = "credit_note"
    # Credit paid back to the customer by refunding a payment of that invoice (or of the
    # payment's own excess, then with no invoice).
    REFUND = "refund"
    # What a payment brought beyond what its invoices owed; it belongs to no invoice.
    PAYMENT = "payment"


class StripeSyncStatus(models.TextChoices):
    NOT_SYNCED = "not_synced"  # Stripe is not connected, or syncing customers is off
    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"  # retried on the customer's next change
