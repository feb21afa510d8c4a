"""A subscription's upcoming invoice: what its next billing would issue if it ran now —
the fixed lines of the next period and the usage of the running one so far, or the usage
alone when that billing ends it — by the cycle's own rule (subscriptions.next_invoice).
Nothing is stored."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from billing.clock import workspace_today
from billing.documents import apply_totals, build_lines
from billing.errors import DomainError, InvalidInput
from invoices.models import Invoice, InvoiceLine
from subscriptions.calendar import local_midnight
from subscriptions.choices import SubscriptionStatus
from subscriptions.models import Subscription
from subscriptions.next_invoice import is_last_billing, next_invoice, resumed_billing
from subscriptions.usage import is_metered, metered_lines, usage_quantities

# Instants are stored to the microsecond: usage at `now` itself is before this much later.
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Upcoming:
    subscription: Subscription
    invoice: Invoice  # unsaved, with its totals
    lines: list[InvoiceLine]  # unsaved, with their totals
    usage_start: date | None
    usage_until: datetime


def _none(subscription: Subscription, why: str) -> DomainError:
    return DomainError(
        "invoice_upcoming_none",
        f"Subscription {subscription.pk} has no upcoming invoice: {why}",
        status_code=404,
    )


def _billing_day(subscription: Subscription, now: datetime) -> date:
    """The day its next billing comes: a paused subscription's bills once it resumes (on
    its `pause_until`, or today if resumed now), unless that billing ends it, which comes
    paused or not. One that needs attention bills its next billing once resumed."""
    if subscription.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FINALIZED):
        raise _none(subscription, f"it is {subscription.status}.")
    start = subscription.next_billing
    if subscription.status == SubscriptionStatus.PAUSED and not is_last_billing(subscription):
        resumes = subscription.pause_until or workspace_today(subscription.workspace, now)
        start = resumed_billing(subscription, resumes)
    if start is None:
        raise _none(subscription, "it bills no further period.")
    return start


def subscription_upcoming(*, subscription: Subscription, now: datetime) -> Upcoming:
    start = _billing_day(subscription, now)
    timezone_name = subscription.workspace.timezone
    lines = list(subscription.lines.select_related("plan", "plan__product"))
    ended = list(subscription.ended_lines.select_related("plan", "plan__product"))
    addons = list(subscription.addons.select_related("addon"))
    usage_start = subscription.previous_billing
    usage_until = min(now, local_midnight(start, timezone_name))
    until = min(now + _INSTANT, local_midnight(start, timezone_name))
    usage: dict[str, Decimal] = {}
    if usage_start is not None:
        paused = list(subscription.paused_spans.all())
        window_start = local_midnight(usage_start, timezone_name)
        metered = [
            one
            for line in lines
            if is_metered(line.plan)
            for one in metered_lines(subscription, line, window_start, until, paused)
        ]
        for gone in ended:
            metered += metered_lines(
                subscription, gone, local_midnight(gone.usage_start, timezone_name),
                min(gone.ended_at, until), paused,
            )  # fmt: skip
        usage = usage_quantities(
            workspace_id=subscription.workspace_id, test_mode=subscription.test_mode, lines=metered
        )
    billed = next_invoice(
        subscription, lines=lines, addons=addons, ended=ended, usage=usage, start=start,
        today=start,
    )  # fmt: skip
    if billed.draft is None or not billed.issued:
        raise _none(subscription, "its next billing has nothing to bill.")
    built = build_lines(InvoiceLine, {}, billed.draft.lines)
    try:
        apply_totals(billed.draft.invoice, built)
    except InvalidInput as exc:
        # The same totals fail the cycle, which flags the subscription: a usage to check.
        why = "; ".join(message for messages in exc.errors.values() for message in messages)
        raise DomainError(
            "usage_out_of_range",
            f"Subscription {subscription.pk}'s next invoice cannot be priced: {why} "
            "Check the events its meters count.",
        ) from exc
    return Upcoming(subscription, billed.draft.invoice, built, usage_start, usage_until)
