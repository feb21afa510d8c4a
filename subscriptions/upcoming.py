"""A subscription's upcoming invoice: what its next cycle would bill if it ran now —
the fixed lines of the next period and the usage of the running one so far, priced as
the cycle prices them (subscriptions.pricing.cycle_draft). Nothing is stored."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from billing.documents import apply_totals, build_lines
from billing.errors import DomainError
from invoices.models import Invoice, InvoiceLine
from subscriptions.calendar import boundary_after, local_midnight
from subscriptions.choices import SubscriptionStatus
from subscriptions.models import Subscription
from subscriptions.pricing import cycle_draft, final_usage_draft
from subscriptions.services.cycles import cycles_done
from subscriptions.usage import is_metered, metered_line, usage_quantities


@dataclass(frozen=True)
class Upcoming:
    subscription: Subscription
    invoice: Invoice  # unsaved, with its totals
    lines: list[InvoiceLine]  # unsaved, with their totals
    usage_start: date | None
    usage_until: datetime


def subscription_upcoming(*, subscription: Subscription, now: datetime) -> Upcoming:
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
        raise DomainError(
            "subscription_not_billing",
            f"Subscription {subscription.pk} is {subscription.status}: it has no next invoice.",
        )
    if subscription.next_billing is None:
        raise DomainError(
            "subscription_not_billing",
            f"Subscription {subscription.pk} bills no further period.",
        )
    timezone_name = subscription.workspace.timezone
    lines = list(subscription.lines.select_related("plan", "plan__product"))
    ended = list(subscription.ended_lines.select_related("plan", "plan__product"))
    addons = list(subscription.addons.select_related("addon"))
    start = subscription.next_billing
    end = boundary_after(subscription.billing_anchor, subscription.frequency, start)
    usage_start = subscription.previous_billing
    until = min(now, local_midnight(start, timezone_name))
    usage: dict[str, Decimal] = {}
    if usage_start is not None:
        metered = [
            metered_line(subscription, line, local_midnight(usage_start, timezone_name), until)
            for line in lines
            if is_metered(line.plan)
        ]
        metered += [
            metered_line(
                subscription, gone, local_midnight(gone.usage_start, timezone_name),
                min(gone.ended_at, until),
            )
            for gone in ended
        ]  # fmt: skip
        usage = usage_quantities(
            workspace_id=subscription.workspace_id, test_mode=subscription.test_mode, lines=metered
        )
    if cycles_done(subscription) and usage_start is not None:
        # Its last cycle is billed: what is left is the last period's usage.
        draft = final_usage_draft(
            subscription, lines=lines, usage=usage, usage_start=usage_start, usage_end=start,
            invoice_date=start, ended=ended,
        )  # fmt: skip
    else:
        draft = cycle_draft(
            subscription, lines=lines, addons=addons, period_start=start, period_end=end,
            cycle=subscription.cycles_billed + 1, invoice_date=start, usage=usage,
            usage_start=usage_start, ended=ended,
        )  # fmt: skip
    built = build_lines(InvoiceLine, {}, draft.lines)
    apply_totals(draft.invoice, built)
    return Upcoming(subscription, draft.invoice, built, usage_start, until)
