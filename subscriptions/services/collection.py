"""Collecting a billed period after its invoice is committed: charge or email.

Each attempt is claimed in a short transaction (the period row is leased until
`leased_until`, on the real clock even in test mode), made with no lock held (the gateway
or the mail server is a network call), and recorded in another short transaction, which
ends the lease. A worker that dies mid-attempt leaves the lease to expire and the period
to be picked up again. A charge is never made
twice: before charging, an invoice that is already paid counts as collected.

Failed charges are retried 1, 3, 5 and 7 days after the first failure (rules.md §7);
when the last fails the subscription needs attention (`gateway_issue`). Emails follow the
same schedule and end in `processing_issue`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from billing.errors import DomainError, InvalidInput
from invoices.choices import InvoiceStatus
from invoices.mail import invoice_send
from invoices.selectors import invoice_amount_due
from payments.services import payment_charge_invoice
from subscriptions.choices import (
    CHARGE_RETRY_DAYS,
    COLLECTION_LEASE_SECONDS,
    CollectionScheme,
    CollectionStatus,
    NeedsAttentionReason,
)
from subscriptions.models import BilledPeriod
from subscriptions.services.attention import subscription_flag

Clock = Callable[..., datetime]


@dataclass(frozen=True)
class _Claim:
    period_id: int
    attempt: int  # 0 for the first
    now: datetime


def _claim(period_id: int, clock: Clock) -> _Claim | None:
    with transaction.atomic():
        period = (
            BilledPeriod.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("invoice", "subscription__workspace")
            .filter(pk=period_id)
            .first()
        )
        if period is None:
            return None
        subscription = period.subscription
        now = clock(workspace=subscription.workspace, test_mode=subscription.test_mode)
        if period.collection_status == CollectionStatus.REVIEW:
            # Collected once no longer a draft: finalized, or already paid (an order's
            # invoice paid by its intent), which counts as collected.
            if period.invoice.status == InvoiceStatus.DRAFT:
                return None
            period.collection_status = CollectionStatus.PENDING
        elif period.collection_status != CollectionStatus.PENDING:
            return None
        if period.next_attempt_at is not None and period.next_attempt_at > now:
            return None
        real_now = timezone.now()
        if period.leased_until is not None and period.leased_until > real_now:
            return None  # another attempt is being made
        period.leased_until = real_now + timedelta(seconds=COLLECTION_LEASE_SECONDS)
        period.save(update_fields=["collection_status", "leased_until"])
        return _Claim(period.pk, period.collection_attempts, now)


def _attempt(period: BilledPeriod, now: datetime) -> str:
    """Charge or send; the error text, empty on success."""
    subscription, invoice = period.subscription, period.invoice
    if invoice.status == InvoiceStatus.PAID or invoice_amount_due(invoice) <= 0:
        return ""  # paid meanwhile, or by an earlier attempt whose outcome was lost
    if invoice.status != InvoiceStatus.FINALIZED:
        return ""  # cancelled or written off: nothing left to collect
    if subscription.collection_scheme == CollectionScheme.CHARGE_PAYMENT:
        if subscription.default_source is None:
            return "The subscription has no default source to charge."
        try:
            payment = payment_charge_invoice(
                invoice=invoice, source=subscription.default_source, now=now
            )
        except DomainError as exc:  # e.g. the source is no longer chargeable
            return f"{exc.code}: {exc.detail}"
        except InvalidInput as exc:
            return f"The default source cannot pay this invoice: {exc.errors}"
        return "" if payment.status == "succeeded" else (payment.failed_reason or "declined")
    try:
        invoice_send(invoice=invoice, now=now)
    except DomainError as exc:
        return exc.detail
    return ""


def period_collect(*, period_id: int, clock: Clock) -> CollectionStatus | None:
    """One collection attempt of a period, if it is due; its status after, or None when
    there was nothing to do."""
    claim = _claim(period_id, clock)
    if claim is None:
        return None
    period = BilledPeriod.objects.select_related(
        "invoice", "invoice__document", "invoice__customer", "invoice__workspace",
        "subscription", "subscription__default_source",
    ).get(pk=claim.period_id)  # fmt: skip
    # An exception here leaves the lease to expire, and the attempt is made again.
    return _record_outcome(claim, _attempt(period, claim.now))


@transaction.atomic
def _record_outcome(claim: _Claim, error: str) -> CollectionStatus:
    period = (
        BilledPeriod.objects.select_for_update(of=("self",))
        .select_related("subscription")
        .get(pk=claim.period_id)
    )
    period.collection_attempts = claim.attempt + 1
    period.leased_until = None
    if not error:
        period.collection_status = CollectionStatus.SUCCEEDED
        period.collected_at = claim.now
        period.next_attempt_at = None
        period.last_error = ""
        period.save()
        return CollectionStatus.SUCCEEDED
    period.last_error = error[:256]
    if period.first_failed_at is None:
        period.first_failed_at = claim.now
    if claim.attempt < len(CHARGE_RETRY_DAYS):
        # Days after the first failure, not after this attempt: a retry that ran late
        # (a worker was down) does not push the rest of the schedule back.
        retry_at = period.first_failed_at + timedelta(days=CHARGE_RETRY_DAYS[claim.attempt])
        period.next_attempt_at = max(retry_at, claim.now)
        period.save()
        return CollectionStatus.PENDING
    period.collection_status = CollectionStatus.FAILED
    period.next_attempt_at = None
    period.save()
    charging = period.subscription.collection_scheme == CollectionScheme.CHARGE_PAYMENT
    subscription_flag(
        subscription_id=period.subscription_id,
        reason=NeedsAttentionReason.GATEWAY_ISSUE
        if charging
        else NeedsAttentionReason.PROCESSING_ISSUE,
        description=f"Invoice {period.invoice_id} could not be "
        f"{'charged' if charging else 'sent'} after {period.collection_attempts} attempts: "
        f"{error}"[:256],
        now=claim.now,
    )
    return CollectionStatus.FAILED
