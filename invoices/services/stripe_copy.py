"""Bookkeeping of an invoice's copy in Stripe, written by the payments app's sync.

No event is recorded: these columns say where the copy stands, and an invoice event
would start another sync.
"""

from datetime import datetime
from typing import Any

from invoices.choices import StripeInvoiceSync
from invoices.models import CreditNote, Invoice


def invoice_claim_stripe_id(*, invoice_id: str, stripe_id: str) -> str:
    """Store the Stripe invoice made for ours, unless one is stored already; the one kept.
    The conditional update (and the unique constraint) keep one copy per invoice."""
    Invoice.objects.filter(pk=invoice_id, stripe_id="").update(stripe_id=stripe_id)
    return Invoice.objects.filter(pk=invoice_id).values_list("stripe_id", flat=True).get()


def invoice_record_stripe_sync(
    *,
    invoice_id: str,
    status: str,
    now: datetime,
    stripe_status: str = "",
    hosted_invoice_url: str | None = None,
    invoice_pdf: str | None = None,
    error: str = "",
) -> None:
    changes: dict[str, Any] = {"stripe_sync_status": status, "stripe_sync_error": error[:256]}
    if stripe_status:
        changes["stripe_status"] = stripe_status
    if hosted_invoice_url is not None:
        changes["stripe_hosted_invoice_url"] = hosted_invoice_url
    if invoice_pdf is not None:
        changes["stripe_invoice_pdf"] = invoice_pdf
    if status == StripeInvoiceSync.SYNCED:
        changes["stripe_synced_at"] = now
    Invoice.objects.filter(pk=invoice_id).update(**changes)


def credit_note_record_stripe_id(*, note_id: str, stripe_id: str) -> None:
    CreditNote.objects.filter(pk=note_id, stripe_id="").update(stripe_id=stripe_id)
