"""Billing a mid-period change of plans: credit the unused days, invoice the new ones."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from billing.errors import DomainError
from invoices.choices import InvoiceStatus
from invoices.notes import credit_note_create, note_finalize
from invoices.services import invoice_create, invoice_finalize
from subscriptions.choices import BilledKind, CollectionStatus
from subscriptions.cycles import queue_collection
from subscriptions.models import BilledPeriod, Subscription, SubscriptionLine
from subscriptions.pricing import period_text, plan_price
from subscriptions.services.common import local_today


def _line_key(line: SubscriptionLine) -> tuple[str, Decimal]:
    return (line.plan_id, Decimal(line.quantity))


def prorate(
    subscription: Subscription,
    before: list[SubscriptionLine],
    after: list[SubscriptionLine],
    now: datetime,
) -> None:
    """Bill a mid-period change of plans or quantities for the rest of the period.

    The lines that went away are credited for their unused days with a credit note on the
    period's invoice ("Unused time on …"); the lines that came in are invoiced for the
    same days ("Remaining time on …"). Days are the workspace's local days from today to
    the period's end, over the period's days; coupons are not prorated. The new invoice
    is collected like a cycle's (a `proration` billed period).
    """
    today = local_today(subscription.workspace, now)
    period = (
        BilledPeriod.objects.select_related("invoice")
        .filter(subscription=subscription, kind=BilledKind.CYCLE)
        .filter(period_start__lte=today, period_end__gt=today)
        .first()
    )
    if period is None:
        return  # not yet billed (a trial, or before the start): nothing to prorate
    removed = [line for line in before if _line_key(line) not in {_line_key(a) for a in after}]
    added = [line for line in after if _line_key(line) not in {_line_key(b) for b in before}]
    days = (period.period_end - today).days
    period_days = (period.period_end - period.period_start).days
    text = period_text(today, period.period_end)
    if removed:
        if period.invoice.status == InvoiceStatus.DRAFT:
            raise DomainError(
                "subscription_period_in_review",
                f"The period's invoice {period.invoice_id} is a draft in review; finalize or "
                "delete it before changing the plans.",
            )
        rows = [_prorated_row("Unused time on", line, days, period_days, text) for line in removed]
        for row in rows:
            del row["plan_id"]  # note lines name no plan
        note = credit_note_create(
            workspace=subscription.workspace, test_mode=subscription.test_mode,
            invoice=period.invoice, reason=3, now=now, date=max(today, period.invoice.date),
            description="Plan change: unused time", lines=rows,
        )  # fmt: skip
        note_finalize(note=note, now=now)
    if added:
        rows = [_prorated_row("Remaining time on", line, days, period_days, text) for line in added]
        invoice = invoice_create(
            workspace=subscription.workspace, test_mode=subscription.test_mode,
            customer=subscription.customer, document=subscription.document, date=today,
            due_date=today + timedelta(days=subscription.expiration_days), lines=rows,
            period_start=today, period_end=period.period_end, subscription_id=subscription.id,
            custom_change=subscription.custom_change,
        )  # fmt: skip
        finalize = not subscription.workspace.review_cycle_invoices
        if finalize:
            invoice_finalize(invoice=invoice, now=now)
        # Collected as the period's own invoice was: charged or emailed, with retries.
        BilledPeriod.objects.create(
            subscription=subscription, kind=BilledKind.PRORATION, cycle=period.cycle,
            period_start=today, period_end=period.period_end, invoice=invoice,
            collection_status=CollectionStatus.PENDING if finalize else CollectionStatus.REVIEW,
            next_attempt_at=now if finalize else None,
        )  # fmt: skip
        if finalize:
            transaction.on_commit(lambda: queue_collection([invoice.id]))


def _prorated_row(
    label: str, line: SubscriptionLine, days: int, period_days: int, text: str
) -> dict[str, Any]:
    plan = line.plan
    return {
        "name": f"{label} {plan.name}",
        "description": f"{text} (prorated {days}/{period_days} days)",
        "quantity": line.quantity,
        **plan_price(plan, line.quantity, (days, period_days)),
        "exempt": plan.exempt,
        "plan_id": plan.id,
    }
