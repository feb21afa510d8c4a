"""A year of monthly billing through the test clock, checked invoice by invoice."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.models import DocumentType, Event
from catalog.choices import DurationScheme
from invoices.models import Invoice
from subscriptions.choices import SubscriptionStatus
from subscriptions.models import BilledPeriod
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import (
    addon_of,
    coupon_of,
    invoice_rows,
    plan_of,
    santiago,
    subscribe,
    workspace_at,
)

pytestmark = pytest.mark.django_db

D = Decimal


def test_a_year_of_monthly_billing_with_a_three_cycle_coupon_and_a_one_time_addon() -> None:
    # Arrange: 2 × 10,000 CLP a month from Jan 31 (month ends clamp), a 10% coupon for
    # three cycles on the invoice, and a one-time set-up fee of 5,000 on the first.
    start = santiago(2026, 1, 31, 9, 0)
    workspace = workspace_at(start)
    coupon = coupon_of(
        workspace, amount=D(10), duration_scheme=DurationScheme.LIMITED, duration_times=3
    )
    setup = addon_of(workspace, amount=5000, name="Set-up")
    subscription = subscribe(
        workspace,
        start,
        [(plan_of(workspace, 10000, name="Pro"), 2)],
        coupon=coupon,
        addons=[{"addon": setup, "quantity": D(1)}],
    )

    # Act: the first invoice was issued at creation; a year later, eleven more.
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2027, 1, 30, 23, 0))

    # Assert
    # 25,000 − 10% = 22,500 + IVA 4,275; then 20,000 − 10% = 18,000 + 3,420 (cycles 2-3);
    # then 20,000 + 3,800. Due ten days after each date.
    first = (D(22500), D(4275), D(26775))
    discounted = (D(18000), D(3420), D(21420))
    full = (D(20000), D(3800), D(23800))
    starts = [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
        date(2026, 5, 31), date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31),
        date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 31),
        date(2027, 1, 31),
    ]  # fmt: skip
    expected = [
        (n + 1, starts[n], starts[n], starts[n + 1], starts[n] + timedelta(days=10),
         *(first if n == 0 else discounted if n < 3 else full))
        for n in range(12)
    ]  # fmt: skip
    assert invoice_rows(subscription) == expected
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.next_billing == date(2027, 1, 31)
    assert subscription.previous_billing == date(2026, 12, 31)
    assert subscription.cycles_billed == 12
    # Every invoice was finalized at its own billing instant (local midnight), the first
    # at creation; the add-on is on the first only.
    invoices = Invoice.objects.filter(subscription_id=subscription.id).order_by("number")
    assert [i.finalized_at for i in invoices][1:3] == [
        santiago(2026, 2, 28, 0, 0),
        santiago(2026, 3, 31, 0, 0),
    ]
    assert [line.name for line in invoices[0].lines.all()] == ["Pro", "Set-up"]
    assert all(len(i.lines.all()) == 1 for i in invoices[1:])
    assert BilledPeriod.objects.filter(subscription=subscription).count() == 12
    assert (
        Event.objects.filter(object_id=subscription.id, type="subscription.invoiced").count() == 12
    )
    workspace.refresh_from_db()
    assert workspace.test_clock_at == santiago(2027, 1, 30, 23, 0)


def test_an_amount_coupon_on_a_boleta_subscription_can_take_off_its_whole_gross_price() -> None:
    # A boleta's prices include IVA: a 10,000 coupon on a 5,950 plan leaves nothing to pay,
    # not the IVA of the 5,000 net it would be capped at.
    start = santiago(2026, 1, 31, 9, 0)
    workspace = workspace_at(start)
    coupon = coupon_of(
        workspace, amount=D(10000), discount_scheme="$", currency_id="CLP",
        duration_scheme=DurationScheme.FOREVER,
    )  # fmt: skip
    subscription = subscribe(
        workspace,
        start,
        [(plan_of(workspace, 5950, name="Boleta plan"), 1)],
        coupon=coupon,
        document=DocumentType.objects.get(pk=39),
    )

    invoice = Invoice.objects.get(subscription_id=subscription.id)

    assert (invoice.discount, invoice.discount_amount, invoice.total) == (D(5950), D(5950), D(0))
