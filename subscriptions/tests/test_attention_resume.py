"""A subscription that needed attention bills, once resumed, every period that came due
meanwhile, each once: the customer kept the service, as a Stripe subscription past due
keeps being invoiced (rules.md §6: a period is never billed twice)."""

from datetime import date

import pytest

from subscriptions import services
from subscriptions.choices import NeedsAttentionReason
from subscriptions.services.attention import subscription_flag
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import invoice_rows, plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db


def test_periods_due_while_it_needed_attention_are_billed_once_after_resume() -> None:
    start = santiago(2026, 1, 15, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, 10000), 1)])
    flagged_at = santiago(2026, 1, 20, 9, 0)
    subscription_flag(
        subscription_id=subscription.id, reason=NeedsAttentionReason.GATEWAY_ISSUE,
        description="card_declined", now=flagged_at,
    )  # fmt: skip
    resumed_at = santiago(2026, 3, 20, 9, 0)
    # Feb 15 and Mar 15 come while it needs attention: held, not billed yet.
    clock_advance(workspace=workspace, test_mode=True, now=flagged_at, to=resumed_at)
    assert len(invoice_rows(subscription)) == 1
    subscription.refresh_from_db()

    resumed = services.subscription_resume(subscription=subscription, now=resumed_at)
    assert resumed.next_billing == date(2026, 2, 15)
    clock_advance(workspace=workspace, test_mode=True, now=resumed_at,
                  to=santiago(2026, 3, 21, 9, 0))  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 3, 21, 9, 0),
                  to=santiago(2026, 3, 22, 9, 0))  # fmt: skip

    rows = invoice_rows(subscription)
    assert [(row[2], row[3], row[5]) for row in rows] == [
        (date(2026, 1, 15), date(2026, 2, 15), 10000),
        (date(2026, 2, 15), date(2026, 3, 15), 10000),
        (date(2026, 3, 15), date(2026, 4, 15), 10000),
    ]
    subscription.refresh_from_db()
    assert subscription.next_billing == date(2026, 4, 15)
