"""Stopping a subscription's billing until someone looks: a declined card, a rejected
invoice, or a cycle that cannot be billed."""

from datetime import datetime

from django.db import transaction

from subscriptions.choices import NeedsAttentionReason, SubscriptionStatus
from subscriptions.models import Subscription
from subscriptions.services.common import record, set_next_billing, transition


@transaction.atomic
def subscription_flag(
    *, subscription_id: str, reason: NeedsAttentionReason, description: str, now: datetime
) -> Subscription | None:
    """Stop billing an active subscription until someone resumes it; None when it is not
    active (already flagged, paused or ended)."""
    subscription = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .filter(pk=subscription_id, status=SubscriptionStatus.ACTIVE)
        .first()
    )
    if subscription is None:
        return None
    transition(subscription, SubscriptionStatus.NEEDS_ATTENTION, why=description)
    subscription.needs_attention_reason = reason
    subscription.needs_attention_at = now
    # Held, it bills nothing more until resumed or until a cancellation takes effect.
    set_next_billing(subscription, subscription.next_billing)
    subscription.save()
    record(subscription, "needs_attention")
    return subscription
