"""What subscription events carry."""

import json
from typing import Any

from billing.encoders import JSONEncoder
from subscriptions.models import Subscription


def subscription_snapshot(subscription: Subscription) -> dict[str, Any]:
    """The subscription as the API shows it."""
    from subscriptions.api.serializers import SubscriptionSerializer
    from subscriptions.selectors import subscription_queryset

    fresh = subscription_queryset().get(pk=subscription.pk)
    data = SubscriptionSerializer(fresh).data
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=JSONEncoder))
    return plain


_SCALARS = (
    "id", "customer_id", "status", "next_billing", "previous_billing", "billing_cycles",
    "collection_scheme", "needs_attention_reason", "cancel_reason", "test_mode",
)  # fmt: skip


def subscription_cycle_snapshot(
    subscription: Subscription, invoice_id: str | None
) -> dict[str, Any]:
    """A cheap snapshot for cycle events, built from the row in memory: the billing
    state after the cycle and the invoice it issued."""
    data = {name.removesuffix("_id"): getattr(subscription, name) for name in _SCALARS}
    data["next_billing_cycle"] = subscription.cycles_billed + 1
    data["invoice"] = invoice_id
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=JSONEncoder))
    return plain
