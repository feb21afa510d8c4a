"""What a subscription's next billing issues: the one rule the cycle follows when it bills
and the upcoming invoice follows when it previews, so the two cannot differ."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from invoices.services.batch import InvoiceDraft
from subscriptions.calendar import boundary_after, boundary_on_or_after
from subscriptions.choices import HELD_STATUSES, BilledKind
from subscriptions.models import EndedLine, Subscription, SubscriptionAddOn, SubscriptionLine
from subscriptions.pricing import cycle_draft, final_usage_draft
from subscriptions.usage import is_metered


@dataclass(frozen=True)
class NextInvoice:
    """The period a billing bills, [start, end), as a cycle or a final invoice; `draft`
    None or without lines: no invoice is issued (the subscription advances all the same)."""

    kind: str
    start: date
    end: date
    cycle: int
    draft: InvoiceDraft | None

    @property
    def issued(self) -> bool:
        return self.draft is not None and bool(self.draft.lines)


def cycles_done(subscription: Subscription) -> bool:
    """Every cycle `billing_cycles` asks for is billed (a last one may still run)."""
    return (
        subscription.billing_cycles is not None
        and subscription.cycles_billed >= subscription.billing_cycles
    )


def cancels_at_next_billing(subscription: Subscription) -> bool:
    """Its cancellation at period end takes effect on its next billing: no period held
    before it is left to bill."""
    if not subscription.cancel_at_period_end:
        return False
    cancel_at, next_billing = subscription.cancel_at, subscription.next_billing
    return cancel_at is None or next_billing is None or next_billing >= cancel_at


def is_last_billing(subscription: Subscription) -> bool:
    """Its next billing ends it: cancelled at period end, or its cycles all billed. Only
    the usage of the period that ends is left to bill then, the fixed lines being billed
    ahead."""
    return cancels_at_next_billing(subscription) or cycles_done(subscription)


def cycle_day(subscription: Subscription, next_billing: date | None) -> date | None:
    """The day a cycle next acts on it (`next_billing_at` begins it): its next billing,
    but for one held (paused or needing attention) with periods held before a
    cancellation at period end, the day the cancellation takes effect: those periods
    are billed then, one each, before it cancels."""
    cancel_at = subscription.cancel_at
    if (
        next_billing is not None
        and cancel_at is not None
        and subscription.cancel_at_period_end
        and subscription.status in HELD_STATUSES
        and cancel_at > next_billing
    ):
        return cancel_at
    return next_billing


def resumed_billing(subscription: Subscription, day: date) -> date | None:
    """The next billing of a held subscription resumed on `day`: periods that began
    while it was held are never billed."""
    next_billing = subscription.next_billing
    if next_billing is None or next_billing >= day:
        return next_billing
    return boundary_on_or_after(subscription.billing_anchor, subscription.frequency, day)


def next_invoice(
    subscription: Subscription,
    *,
    lines: list[SubscriptionLine],
    addons: list[SubscriptionAddOn],
    ended: Sequence[EndedLine],
    usage: dict[str, Decimal],
    start: date,
    today: date,
    invoice_id: str | None = None,
) -> NextInvoice:
    """The invoice of the billing due on `start` (its next billing), issued `today` or
    later: usage is that of [previous_billing, start) (`usage`, by usage_key)."""
    if is_last_billing(subscription):
        return final_invoice(
            subscription, lines=lines, ended=ended, usage=usage, end=start, today=today,
            invoice_id=invoice_id,
        )  # fmt: skip
    cycle = subscription.cycles_billed + 1
    end = boundary_after(subscription.billing_anchor, subscription.frequency, start)
    draft = cycle_draft(
        subscription, lines=lines, addons=addons, period_start=start, period_end=end,
        cycle=cycle, invoice_date=max(start, today), usage=usage,
        usage_start=subscription.previous_billing,
        ended=ended, invoice_id=invoice_id,
    )  # fmt: skip
    return NextInvoice(BilledKind.CYCLE, start, end, cycle, draft)


def final_invoice(
    subscription: Subscription,
    *,
    lines: list[SubscriptionLine],
    ended: Sequence[EndedLine],
    usage: dict[str, Decimal],
    end: date,
    today: date,
    invoice_id: str | None = None,
) -> NextInvoice:
    """The last invoice of a subscription that ends on `end`: its metered and ended lines'
    usage over [previous_billing, end) (metered plans bill in arrears, so no cycle would
    bill it), and nothing when it has none or no period was billed."""
    start = subscription.previous_billing
    metered = [line for line in lines if is_metered(line.plan)]
    if start is None or not (metered or ended):
        return NextInvoice(BilledKind.FINAL, end, end, subscription.cycles_billed, None)
    draft = final_usage_draft(
        subscription, lines=metered, usage=usage, usage_start=start, usage_end=end,
        invoice_date=today, ended=ended, invoice_id=invoice_id,
    )  # fmt: skip
    return NextInvoice(BilledKind.FINAL, start, end, subscription.cycles_billed, draft)
