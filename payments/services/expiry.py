"""The beat sweeps that expire stalled checkouts. Each object is expired in its own
transaction, locked in the same order as the services that would answer it."""

from datetime import datetime

from django.db import transaction

from payments.choices import IntentStatus, PaymentStatus, SourceStatus
from payments.models import Intent, Payment
from payments.services._common import lock_intent, lock_payment, lock_payment_invoices
from payments.services._events import record_payment
from payments.services.intents import intent_expire_if_due, transition_intent
from payments.services.payments import (
    settle_payment_invoices,
    source_status_after_authentication,
    transition_payment,
)


def intents_expire_due(*, now: datetime, limit: int = 500) -> int:
    """Expire intents past their `expires_at` still waiting for a payment method."""
    due = list(
        Intent.objects.filter(
            status=IntentStatus.REQUIRES_PAYMENT_METHOD, payment__isnull=True, expires_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        with transaction.atomic():
            intent = lock_intent(Intent(pk=pk))
            intent_expire_if_due(intent, now)
    return len(due)


def _payment_expire_authentication(payment: Payment, now: datetime) -> bool:
    lock_payment_invoices(payment)
    intent = Intent.objects.select_for_update(of=("self",)).filter(payment=payment).first()
    payment = lock_payment(payment)
    expires_at = payment.authentication_expires_at
    if payment.status != PaymentStatus.PROCESSING or expires_at is None or expires_at > now:
        return False  # answered meanwhile
    # `incomplete`: the payer began but never finished; it no longer holds its amount.
    transition_payment(payment, PaymentStatus.INCOMPLETE)
    payment.failed_reason = "authentication_expired"
    payment.save(update_fields=["status", "failed_reason", "updated_at"])
    source = payment.source
    if source is not None and source.status == SourceStatus.WAITING_AUTHORIZATION:
        source.status = source_status_after_authentication(source, succeeded=False)
        source.save(update_fields=["status", "updated_at"])
    settle_payment_invoices(payment, now)
    record_payment(payment, "incomplete")
    if intent is not None and intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD:
        intent.failed_reason = "authentication_expired"
        transition_intent(intent, IntentStatus.EXPIRED, now)
    return True


def payments_expire_due(*, now: datetime, limit: int = 500) -> int:
    """Mark `incomplete` the payments left at the authentication step past
    `authentication_expires_at`, releasing what they held of their invoices; their
    intents expire with them."""
    due = list(
        Payment.objects.filter(
            status=PaymentStatus.PROCESSING, authentication_expires_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    expired = 0
    for pk in due:
        with transaction.atomic():
            expired += _payment_expire_authentication(Payment(pk=pk), now)
    return expired


def checkouts_expire_due(*, now: datetime) -> int:
    """The beat sweep: intents past their expiry, and payments past their
    authentication window."""
    return intents_expire_due(now=now) + payments_expire_due(now=now)
