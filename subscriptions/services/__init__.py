"""Subscription writes: create, change (with proration), pause, resume, cancel, process.

Every service is atomic, takes `now` from its caller (billing.clock for the tenant) and
records its event. Billing itself is cycles.py's, collection collection.py's, and the test
clock's advance clocks.py's.
"""

from subscriptions.services.attention import subscription_flag
from subscriptions.services.create import (
    subscription_create,
    subscription_from_order,
    subscription_update,
)
from subscriptions.services.lifecycle import (
    subscription_cancel,
    subscription_pause,
    subscription_resume,
    subscription_tax_agency_failed,
    subscriptions_resume_due,
)
from subscriptions.services.process import subscription_process, subscription_process_current

__all__ = [
    "subscription_cancel",
    "subscription_create",
    "subscription_flag",
    "subscription_from_order",
    "subscription_pause",
    "subscription_process",
    "subscription_process_current",
    "subscription_resume",
    "subscription_tax_agency_failed",
    "subscription_update",
    "subscriptions_resume_due",
]
