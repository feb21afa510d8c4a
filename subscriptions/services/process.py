"""Billing a subscription's due cycle on request, ahead of the scheduler."""

from datetime import datetime

from django.db import transaction

from billing.errors import DomainError
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services.cycles import cycle_bill, fixed_clock


@transaction.atomic
def subscription_process(*, subscription: Subscription, now: datetime) -> BilledPeriod:
    """Bill the due cycle now, without waiting for beat. A racing beat run either billed
    it first (this then finds nothing due: 409) or waits for this to commit."""
    periods = cycle_bill(subscription_ids=[subscription.pk], clock=fixed_clock(now), wait=True)
    if not periods:
        subscription.refresh_from_db()
        raise DomainError(
            "subscription_not_due",
            f"Subscription {subscription.id} has no cycle due: it is {subscription.status}"
            + (f", next billing {subscription.next_billing}." if subscription.next_billing
               else "."),
        )  # fmt: skip
    return periods[0]
