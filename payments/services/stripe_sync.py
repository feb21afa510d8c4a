"""What a committed domain event asks of Stripe: a customer's change is copied, and an
invoice's (or its credit note's) brings the invoice's Stripe copy in line."""

from datetime import datetime

from billing.models import Event
from payments.services.stripe_customers import stripe_sync_for_event as customer_sync_for_event
from payments.services.stripe_invoices import (
    INVOICE_EVENTS,
    invoice_id_of_event,
    invoice_sync_to_stripe,
)


def stripe_sync_for_event(*, event_id: str, now: datetime) -> str:
    event = Event.objects.filter(pk=event_id).only("type", "object_id").first()
    if event is None:
        return "skipped"
    if event.type in INVOICE_EVENTS:
        invoice_id = invoice_id_of_event(event)
        if not invoice_id:
            return "skipped"
        return invoice_sync_to_stripe(invoice_id=invoice_id, now=now)
    return customer_sync_for_event(event_id=event_id, now=now)
