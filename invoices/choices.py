from collections.abc import Sized

from django.db import models


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft"
    PENDING = "pending"  # finalized, waiting for its payments to settle
    FINALIZED = "finalized"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    CANCELLED = "cancelled"


# Every allowed (from, to) pair, and the event it records: no status change goes
# unannounced. A status reached for the first time has its own event; a return to one
# (a refund or failed payment leaving an amount due, uncollectible undone) or a move
# through `pending` while a payment settles is an `invoice.updated`, whose data shows
# the new status and amount due. Anything else is refused with `invoice_invalid_transition`.
INVOICE_TRANSITIONS = {
    (InvoiceStatus.DRAFT, InvoiceStatus.FINALIZED): "invoice.finalized",
    (InvoiceStatus.FINALIZED, InvoiceStatus.UNCOLLECTIBLE): "invoice.uncollectible",
    (InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.FINALIZED): "invoice.updated",
    (InvoiceStatus.FINALIZED, InvoiceStatus.PAID): "invoice.paid",
    (InvoiceStatus.FINALIZED, InvoiceStatus.CANCELLED): "invoice.cancelled",
    # Payments (invoices.services.invoices.invoice_settle_payments): a payment processing holds the
    # invoice pending; nothing left due pays it; a refund that restores an amount due
    # (or a processing payment that fails) puts it back to finalized.
    (InvoiceStatus.FINALIZED, InvoiceStatus.PENDING): "invoice.updated",
    (InvoiceStatus.PENDING, InvoiceStatus.FINALIZED): "invoice.updated",
    (InvoiceStatus.PENDING, InvoiceStatus.PAID): "invoice.paid",
    (InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.PAID): "invoice.paid",
    (InvoiceStatus.PAID, InvoiceStatus.FINALIZED): "invoice.updated",
}

# Invoices that still carry an amount due, so a payment may apply to them (pending: a
# finalized invoice whose payments are settling). An uncollectible invoice can still be paid.
PAYABLE_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PENDING, InvoiceStatus.UNCOLLECTIBLE)


class NoteStatus(models.TextChoices):
    DRAFT = "draft"
    FINALIZED = "finalized"


class StripeInvoiceSync(models.TextChoices):
    NOT_SYNCED = "not_synced"  # Stripe is not connected, or syncing invoices is off
    SYNCED = "synced"
    FAILED = "failed"  # retried by the task; the error is in stripe_sync_error


class LineType(models.TextChoices):
    """What an invoice line bills (Flexprice's FIXED and USAGE line types)."""

    FIXED = "fixed"  # a price for a period or a quantity, known when the invoice is made
    USAGE = "usage"  # a metered plan's usage over a closed period, priced by its tiers


class CollectionMethod(models.TextChoices):
    DEFERRED = "deferred"
    DEFERRED_DUES = "deferred_dues"
    AUTOMATICALLY = "automatically"


class ReferenceReason(models.IntegerChoices):
    """The SII's CodRef: why a note references another document."""

    ANNULS = 1, "annuls the referenced document"
    CORRECTS_TEXT = 2, "corrects text"
    CORRECTS_AMOUNTS = 3, "corrects amounts"


def default_reference_reason(lines: Sized | None, *, can_annul: bool = True) -> int:
    """The reason of a note sent without one, as Piriod's bodies have none (sales and
    purchase notes alike): lines correct amounts (3); no lines annul the referenced
    document (1, its lines mirrored). A note that cannot annul (a debit note) corrects
    amounts either way, so a debit note with no lines is refused on its lines."""
    if lines or not can_annul:
        return ReferenceReason.CORRECTS_AMOUNTS
    return ReferenceReason.ANNULS


MAX_REFERENCES = 40
