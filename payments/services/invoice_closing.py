"""What was open to pay an invoice that stops taking payments (it is cancelled, or paid
by other means: another payment, a credit note) ends with it, as Stripe cancels the
PaymentIntent of an invoice it voids or that is paid out of band: the payer is not left
with an intent or a payment that looks payable and is refused.

Registered with invoices (invoices.payments_closing), which calls it in the transaction
that cancels the invoice or settles it paid, the invoice's row locked first as every
payment locks it.
"""

from datetime import datetime

from invoices.models import Invoice
from payments.choices import INTENT_OPEN_STATUSES, IntentStatus, PaymentStatus
from payments.models import Intent, Payment
from payments.services._events import record_payment
from payments.services.intents import transition_intent
from payments.services.payments import close_at_gateway_later, transition_payment


def invoice_checkouts_close(invoice: Invoice, now: datetime) -> None:
    """Cancel the invoice's open intents and its payments waiting for a payment method,
    each with its event and `failed_reason` saying why; what they left open at Stripe (a
    Checkout session, a PaymentIntent) is marked `gateway_close_due`, and the expiry
    sweep closes it there (stripe_close). A payment processing or succeeded holds the
    invoice, which is then refused cancellation (notes.invoice_cancel); an intent with a
    payment is carried by it, and the one whose payment just paid the invoice is being
    finalized: neither is touched."""
    reason = f"invoice_{invoice.status}"
    intents = Intent.objects.select_for_update(of=("self",)).filter(
        invoice=invoice, status__in=INTENT_OPEN_STATUSES, payment__isnull=True
    )
    for intent in intents.order_by("pk"):
        intent.failed_reason = reason
        transition_intent(intent, IntentStatus.CANCELLED, now)
    waiting = Payment.objects.select_for_update(of=("self",)).filter(
        allocations__invoice=invoice, status=PaymentStatus.REQUIRES_PAYMENT_METHOD
    )
    for payment in waiting.order_by("pk"):
        transition_payment(payment, PaymentStatus.CANCELLED)
        payment.failed_reason = reason
        close_at_gateway_later(payment)
        payment.save(update_fields=["status", "failed_reason", "gateway_close_due", "updated_at"])
        record_payment(payment, "cancelled")
