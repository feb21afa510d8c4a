"""Prorating by day: a mid-period change of plans credits the unused days and invoices
the new ones; an immediate cancellation can credit the unused days."""

from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import cast

from django.db import transaction

from billing.choices import DiscountScheme
from billing.clock import workspace_today
from billing.documents import LineRow
from billing.errors import DomainError, InvalidInput
from invoices.choices import InvoiceStatus
from invoices.models import CreditNote, Invoice, InvoiceLine
from invoices.services.batch import InvoiceDraft
from invoices.services.invoices import InvoiceFields, invoice_create, invoice_finalize
from invoices.services.notes import credit_note_create, note_finalize
from subscriptions.choices import BilledKind, CollectionStatus
from subscriptions.models import BilledPeriod, Subscription, SubscriptionLine
from subscriptions.pricing import (
    PRORATED_GROSS,
    UNIT_PRICE,
    cycle_draft,
    period_text,
    prorated,
)
from subscriptions.services.cycles import queue_collection
from subscriptions.usage import is_metered


def _line_key(line: SubscriptionLine) -> tuple[str, Decimal]:
    return (line.plan_id, Decimal(line.quantity))


def unused_days(period: BilledPeriod, today: date) -> tuple[int, int]:
    """The days of a billed period left from `today` (today included), and the days it
    billed: what a proration or a credit for the rest of the period is the share of."""
    return (period.period_end - today).days, (period.period_end - period.period_start).days


def _credit(
    subscription: Subscription,
    invoice: Invoice,
    rows: list[LineRow],
    description: str,
    now: datetime,
) -> CreditNote:
    """A finalized reason-3 credit note of `rows` on a billed invoice, filed with the tax
    agency like every note."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise DomainError(
            "subscription_period_in_review",
            f"The period's invoice {invoice.id} is a draft in review; finalize it first.",
        )
    today = workspace_today(subscription.workspace, now)
    try:
        note = credit_note_create(
            workspace=subscription.workspace, test_mode=subscription.test_mode,
            invoice=invoice, reason=3, now=now, date=max(today, invoice.date),
            description=description, lines=rows,
        )  # fmt: skip
    except InvalidInput as exc:
        # Not about the request's fields: the invoice cannot take this credit (one
        # credited by hand already, say). Nothing changes; the caller decides.
        why = " ".join(message for messages in exc.errors.values() for message in messages)
        raise DomainError(
            "subscription_credit_refused",
            f"The unused time cannot be credited on invoice {invoice.id}: {why}",
        ) from exc
    return cast(CreditNote, note_finalize(note=note, now=now))


def prorate(
    subscription: Subscription,
    before: list[SubscriptionLine],
    after: list[SubscriptionLine],
    now: datetime,
) -> None:
    """Bill a mid-period change of plans or quantities for the rest of the period.

    The lines that went away are credited for their unused days on the invoice that
    billed them, as a cancellation credits them: the unused share of what was charged,
    discounts included ("Unused time on …"). The lines that came in are invoiced for the
    same days at what the period's own invoice bills for them, with the coupons that
    apply to its cycle, prorated ("Remaining time on …"). Days are the workspace's local
    days from today to the period's end, over the period's days. The new invoice is
    collected like a cycle's (a `proration` billed period).
    """
    today = workspace_today(subscription.workspace, now)
    period = (
        BilledPeriod.objects.select_related("invoice")
        .filter(subscription=subscription, kind=BilledKind.CYCLE)
        .filter(period_start__lte=today, period_end__gt=today)
        .first()
    )
    if period is None:
        return  # not yet billed (a trial, or before the start): nothing to prorate
    # Metered lines bill their usage in arrears, not a price for the days: none prorates.
    before = [line for line in before if not is_metered(line.plan)]
    after = [line for line in after if not is_metered(line.plan)]
    removed, added = _unmatched(before, after), _unmatched(after, before)
    for billed, rows in _unused_rows(subscription, removed, today):
        _credit(subscription, billed.invoice, rows, "Plan change: unused time", now)
    if added:
        draft = _remaining_draft(subscription, period, added, today)
        invoice = invoice_create(
            workspace=subscription.workspace, test_mode=subscription.test_mode,
            customer=subscription.customer, document=subscription.document, date=today,
            lines=draft.lines, **_header(draft.invoice),
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


def _unmatched(
    lines: list[SubscriptionLine], others: list[SubscriptionLine]
) -> list[SubscriptionLine]:
    """The lines of `lines` that no line of `others` matches, each matching once: a second
    line of the same plan and quantity is a line of its own."""
    left = Counter(_line_key(line) for line in others)
    unmatched = []
    for line in lines:
        if left[_line_key(line)]:
            left[_line_key(line)] -= 1
        else:
            unmatched.append(line)
    return unmatched


def _header(invoice: Invoice) -> InvoiceFields:
    """A draft's header as invoice_create takes it: the subscription's invoice issued on
    its own is headed as its cycle draft is (subscriptions.pricing), branch, note,
    references and collection method included."""
    return {
        "due_date": invoice.due_date, "collection_method": invoice.collection_method,
        "orgunit": invoice.orgunit, "period_start": invoice.period_start,
        "period_end": invoice.period_end, "note": invoice.note,
        "references": invoice.references, "discount": invoice.discount,
        "discount_scheme": invoice.discount_scheme, "custom_change": invoice.custom_change,
        "subscription_id": invoice.subscription_id,
    }  # fmt: skip


def _remaining_draft(
    subscription: Subscription, period: BilledPeriod, lines: list[SubscriptionLine], today: date
) -> InvoiceDraft:
    """The days left of `period` for `lines`: the period's invoice as its cycle prices
    them (subscriptions.pricing.cycle_draft, coupons included), each amount prorated."""
    days, period_days = unused_days(period, today)
    text = f"{period_text(today, period.period_end)} (prorated {days}/{period_days} days)"
    full = cycle_draft(
        subscription, lines=lines, addons=[], period_start=period.period_start,
        period_end=period.period_end, cycle=period.cycle, invoice_date=today,
    )  # fmt: skip
    rows = []
    for row in full.lines:
        exact = row.get("gross")
        gross = row["amount"] * row["quantity"] if exact is None else exact
        part: LineRow = {
            **row,
            "name": f"Remaining time on {row['name']}",
            "description": text,
            "amount": prorated(row["amount"], days, period_days),
            "gross": prorated(gross, days, period_days, quantum=PRORATED_GROSS),
        }
        if row.get("discount_scheme") == DiscountScheme.AMOUNT:
            part["discount"] = prorated(row["discount"], days, period_days)
        rows.append(part)
    invoice = full.invoice
    invoice.period_start = today
    if invoice.discount_scheme == DiscountScheme.AMOUNT:
        invoice.discount = prorated(invoice.discount, days, period_days)
    return InvoiceDraft(invoice=invoice, lines=rows)


def credit_unused_time(subscription: Subscription, now: datetime) -> list[CreditNote]:
    """Credit the days left of the billed period running today, for a cancellation now
    (`_unused_rows`, for all the subscription's lines)."""
    today = workspace_today(subscription.workspace, now)
    lines = list(subscription.lines.select_related("plan"))
    return [
        _credit(subscription, period.invoice, rows, "Cancellation: unused time", now)
        for period, rows in _unused_rows(subscription, lines, today)
    ]


def _unused_rows(
    subscription: Subscription, lines: list[SubscriptionLine], today: date
) -> list[tuple[BilledPeriod, list[LineRow]]]:
    """The credit rows for the days `lines` leave unused of the billed period running
    today, by the invoice to credit, oldest first.

    Each line is credited on the invoice that billed it for these days: the period's
    own, or a later plan change's (matched by plan and quantity, the latest first). The
    credit is the unused share of that invoice line, its unit price and its discount, and
    of its part of the invoice's discount: the days left over the days the invoice
    billed. So it gives back what was charged for those days, and no more. A stretch no
    invoice billed (a trial, a pause) and an annulled invoice get nothing.
    """
    periods = list(
        BilledPeriod.objects.select_related("invoice")
        .prefetch_related("invoice__lines")
        .filter(subscription=subscription, period_start__lte=today, period_end__gt=today)
        .order_by("-period_start", "-pk")
    )
    billed = {period.pk: list(period.invoice.lines.all()) for period in periods}
    rows: dict[int, list[LineRow]] = defaultdict(list)
    for line in lines:
        if is_metered(line.plan):
            continue  # billed in arrears for its usage: no unused time to give back
        for period in periods:
            match = next(
                (b for b in billed[period.pk] if (b.plan_id, b.quantity) == _line_key(line)), None
            )
            if match is not None:
                billed[period.pk].remove(match)  # a line credits each billed line once
                rows[period.pk].append(_unused_row(line, match, period, today))
                break
    return [
        (period, rows[period.pk])
        for period in reversed(periods)  # the oldest invoice's note first
        if rows[period.pk] and period.invoice.status != InvoiceStatus.CANCELLED
    ]


def _unused_row(
    line: SubscriptionLine, billed: InvoiceLine, period: BilledPeriod, today: date
) -> LineRow:
    days, billed_days = unused_days(period, today)
    amount = prorated(billed.amount, days, billed_days)
    # A line billed at its exact price (tiers, packages, a prorated stub) is credited its
    # exact share too, rounded once.
    exact = (
        None
        if billed.gross is None
        else prorated(billed.gross, days, billed_days, quantum=PRORATED_GROSS)
    )
    row: LineRow = {
        "name": f"Unused time on {line.plan.name}",
        "description": f"{period_text(today, period.period_end)} "
        f"(prorated {days}/{billed_days} days)",
        "quantity": billed.quantity,
        "amount": amount,
        "gross": exact,
        "exempt": billed.exempt,
        "tax_percent": billed.tax_percent,
        "code": billed.code,
        "unit_label": billed.unit_label,
        "discount": billed.discount,
        "discount_scheme": billed.discount_scheme,
    }
    if billed.discount_scheme == DiscountScheme.AMOUNT:
        row["discount"] = prorated(billed.discount, days, billed_days)
    invoice = period.invoice
    if invoice.discount_amount:
        # The invoice's discount took this share off every line's total: take it off the
        # credit too, with the line's own discount, as one amount. It was a share of the
        # lines' totals (rules.md §2), not of the subtotal, which a boleta's prices
        # include the IVA of while its subtotal does not.
        lines_total = sum((each.total for each in invoice.lines.all()), Decimal(0))
        share = invoice.discount_amount / lines_total
        gross = amount * billed.quantity if exact is None else exact
        own = row["discount"]
        if billed.discount_scheme == DiscountScheme.PERCENT:
            own = gross * own / 100
        discount = (own + (gross - own) * share).quantize(UNIT_PRICE, rounding=ROUND_HALF_UP)
        whole = gross.quantize(UNIT_PRICE, rounding=ROUND_DOWN)
        row["discount"], row["discount_scheme"] = min(discount, whole), DiscountScheme.AMOUNT
    return row
