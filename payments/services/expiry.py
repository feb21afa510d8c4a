"""The beat sweeps that expire stalled checkouts. Each object is expired in its own
transaction, locked in the same order as the services that would answer it."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from billing.clock import reached_on_clock
from payments.choices import IntentStatus, PaymentStatus, SourceStatus
from payments.models import Intent, Payment
from payments.services._common import lock_intent, lock_payment, lock_payment_invoices
from payments.services._events import record_payment
from payments.services.intents import intent_expire_if_due, transition_intent
from payments.services.payments import (
    close_at_gateway_later,
    settle_payment_invoices,
    source_status_after_authentication,
    transition_payment,
)
from payments.services.stripe_close import stripe_close_due


def _due_on_their_clocks(
    rows: QuerySet[Any], field: str, now: datetime, limit: int
) -> list[tuple[str, datetime]]:
    """The rows whose `field` has come on their own tenant's clock (a test clock set
    ahead expires its checkouts at its time), each with that clock's reading."""
    due = rows.filter(reached_on_clock(field, now, None, False))
    found = due.values_list("pk", "test_mode", "workspace__test_clock_at")[:limit]
    return [
        (pk, clock if test_mode and clock is not None else now) for pk, test_mode, clock in found
    ]


def intents_expire_due(*, now: datetime, limit: int = 500) -> int:
    """Expire intents past their `expires_at` still waiting for a payment method."""
    waiting = Intent.objects.filter(
        status=IntentStatus.REQUIRES_PAYMENT_METHOD, payment__isnull=True
    )
    due = _due_on_their_clocks(waiting, "expires_at", now, limit)
    for pk, tenant_now in due:
        with transaction.atomic():
            intent = lock_intent(Intent(pk=pk))
            intent_expire_if_due(intent, tenant_now)
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
    close_at_gateway_later(payment)
    payment.save(update_fields=["status", "failed_reason", "gateway_close_due", "updated_at"])
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
    processing = Payment.objects.filter(status=PaymentStatus.PROCESSING)
    expired = 0
    for pk, tenant_now in _due_on_their_clocks(processing, "authentication_expires_at", now, limit):
        with transaction.atomic():
            expired += _payment_expire_authentication(Payment(pk=pk), tenant_now)
    return expired


def checkouts_expire_due(*, now: datetime) -> int:
    """The beat sweep, `now` being the real time: intents past their expiry, and
    payments past their authentication window, each on its tenant's clock; then what
    they (and any intent or payment given up on since the last sweep) left open at
    Stripe is closed there, each expiry being committed first. A Stripe call that fails
    is tried again by the next sweep."""
    expired = intents_expire_due(now=now) + payments_expire_due(now=now)
    stripe_close_due()
    return expired
