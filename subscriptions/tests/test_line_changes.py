"""A change of quantities keeps a line's coupon and an add-on counting from where they
started: a coupon limited to some invoices, or an add-on billed some cycles, is not
granted again because the quantity changed."""

from datetime import date
from decimal import Decimal

import pytest

from invoices.models import CreditNote, Invoice
from subscriptions import services
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import (
    addon_of,
    coupon_of,
    customer_of,
    plan_of,
    santiago,
    workspace_at,
)

pytestmark = pytest.mark.django_db
D = Decimal
START = santiago(2026, 5, 1, 9, 0)
CHANGE = santiago(2026, 6, 10, 9, 0)  # in cycle 2, [Jun 1, Jul 1): 21 of 30 days left
END = santiago(2026, 9, 2, 9, 0)  # cycles 3, 4 and 5 billed


def _cycle_invoices(subscription_id: str) -> list[Invoice]:
    return list(
        Invoice.objects.filter(subscription_id=subscription_id, period_start__day=1)
        .prefetch_related("lines")
        .order_by("period_start")
    )


def test_a_quantity_change_keeps_counting_a_line_coupon_from_its_first_cycle() -> None:
    workspace = workspace_at(START)
    seat = plan_of(workspace, 10000, name="Seat")
    coupon = coupon_of(
        workspace, amount=D(10), apply_on="line", duration_scheme="limited", duration_times=3
    )
    subscription = services.subscription_create(
        workspace=workspace, test_mode=True, customer=customer_of(workspace), now=START,
        lines=[{"plan": seat, "quantity": D(2), "coupon": coupon}],
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=START, to=CHANGE)

    services.subscription_update(
        subscription=subscription, now=CHANGE,
        lines=[{"plan": seat, "quantity": D(3), "coupon": coupon}],
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=CHANGE, to=END)

    assert subscription.lines.get().coupon_first_cycle == 1
    discounts = [
        [(line.quantity, line.discount) for line in invoice.lines.all()]
        for invoice in _cycle_invoices(subscription.id)
    ]
    assert discounts == [[(2, D(10))], [(2, D(10))], [(3, D(10))], [(3, 0)], [(3, 0)]]
    # The seat added on Jun 10 is billed for cycle 2's days with cycle 2's coupon: 3 seats
    # × 10,000 × 21/30 = 21,000 − 10 %.
    extra = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 6, 10))
    [line] = extra.lines.all()
    assert (line.quantity, line.discount_scheme, line.discount, line.total) == (
        3, "%", D(10), D(18900)
    )  # fmt: skip


def test_a_quantity_change_keeps_counting_a_recurring_addon_from_its_first_cycle() -> None:
    workspace = workspace_at(START)
    support = addon_of(workspace, 5000, name="Support", apply_scheme="recurring", duration_times=2)
    subscription = services.subscription_create(
        workspace=workspace, test_mode=True, customer=customer_of(workspace), now=START,
        lines=[{"plan": plan_of(workspace), "quantity": D(1)}],
        addons=[{"addon": support, "quantity": D(1)}],
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=START, to=CHANGE)

    services.subscription_update(
        subscription=subscription, now=CHANGE, addons=[{"addon": support, "quantity": D(2)}]
    )
    clock_advance(workspace=workspace, test_mode=True, now=CHANGE, to=END)

    billed = [
        [line.quantity for line in invoice.lines.all() if line.name == "Support"]
        for invoice in _cycle_invoices(subscription.id)
    ]
    assert billed == [[1], [1], [], [], []]


def test_a_second_line_of_the_same_plan_is_prorated_when_added_and_when_removed() -> None:
    # 2 × 10,000 on Jun 10, 21 of June's 30 days left: each line of 2 seats is 14,000.
    workspace = workspace_at(START)
    seat = plan_of(workspace, 10000, name="Seat")
    subscription = services.subscription_create(
        workspace=workspace, test_mode=True, customer=customer_of(workspace), now=START,
        lines=[{"plan": seat, "quantity": D(2)}],
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=START, to=CHANGE)
    twice = [{"plan": seat, "quantity": D(2)}, {"plan": seat, "quantity": D(2)}]

    services.subscription_update(subscription=subscription, now=CHANGE, lines=twice)
    extra = Invoice.objects.get(subscription_id=subscription.id, period_start=date(2026, 6, 10))
    assert [(line.quantity, line.total) for line in extra.lines.all()] == [(2, D(14000))]

    services.subscription_update(
        subscription=subscription, now=santiago(2026, 6, 16, 9, 0), lines=twice[:1]
    )
    # 15 days left: the second line is credited 15 of the 21 days its invoice billed.
    [note] = CreditNote.objects.filter(invoice__subscription_id=subscription.id)
    assert (note.invoice_id, note.subtotal) == (extra.id, D(10000))


def test_a_proration_invoice_is_headed_as_the_subscriptions_cycle_invoices() -> None:
    # A plan added mid-period is invoiced on its own: that invoice cites the same purchase
    # order, carries the same note and is collected the same way as the cycle's.
    workspace = workspace_at(START)
    seat = plan_of(workspace, 10000, name="Seat")
    reference = {
        "document": "801", "serial": "OC-77", "date": date(2026, 4, 1),
        "date_end": date(2026, 12, 31), "description": "Orden de compra",
    }  # fmt: skip
    subscription = services.subscription_create(
        workspace=workspace, test_mode=True, customer=customer_of(workspace), now=START,
        lines=[{"plan": seat, "quantity": D(1)}], note="Contrato 2026",
        references=[reference], custom_change=D(2),
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=START, to=CHANGE)

    services.subscription_update(
        subscription=subscription, now=CHANGE, lines=[{"plan": seat, "quantity": D(2)}]
    )

    def header(invoice: Invoice) -> tuple:
        return (
            invoice.note, invoice.references, invoice.collection_method,
            invoice.custom_change, invoice.orgunit_id,
        )  # fmt: skip

    proration = Invoice.objects.get(subscription_id=subscription.id, period_start=CHANGE.date())
    cycle = _cycle_invoices(subscription.id)[-1]
    assert header(proration) == header(cycle)
    assert proration.note == "Contrato 2026"
    assert [row["serial"] for row in proration.references] == ["OC-77"]
    assert (proration.period_start, proration.period_end) == (date(2026, 6, 10), date(2026, 7, 1))
