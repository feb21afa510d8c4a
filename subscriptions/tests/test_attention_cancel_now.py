"""A subscription that needs attention and is cancelled now (DELETE without
`at_period_end`, the admin's action) bills the periods that came due while it was held,
one invoice each, as a cancellation at period end does; then the cancellation's own final
usage invoice and credit note. Each period is billed once (rules.md §6, G4). A change of
its lines, add-ons or coupon bills them first too, at the terms they came due under."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.errors import DomainError
from billing.models import Workspace
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, Invoice
from metering.services.records import usage_record_create
from payments.gateways import sandbox
from subscriptions import services
from subscriptions.choices import NeedsAttentionReason, SubscriptionStatus
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import (
    addon_of,
    advance_over_api,
    coupon_of,
    invoice_rows,
    plan_of,
    santiago,
    subscribe,
    workspace_at,
)
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db

D = Decimal
JAN_20 = santiago(2026, 1, 20, 9, 0)
MAR_20 = santiago(2026, 3, 20, 9, 0)


def _flagged_on_jan_20(workspace: Workspace, plans: list, **fields: object) -> Subscription:
    """Monthly from Jan 15 (billed then), flagged on Jan 20, the clock moved to Mar 20:
    Feb 15 and Mar 15 came due while it needed attention, and are held."""
    subscription = subscribe(workspace, santiago(2026, 1, 15, 9, 0), plans, **fields)
    services.subscription_flag(
        subscription_id=subscription.id, reason=NeedsAttentionReason.GATEWAY_ISSUE,
        description="card_declined", now=JAN_20,
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=JAN_20, to=MAR_20)
    subscription.refresh_from_db()
    assert subscription.next_billing == date(2026, 2, 15)
    assert len(invoice_rows(subscription)) == 1
    return subscription


def test_cancelled_now_it_bills_the_held_periods_once() -> None:
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    subscription = _flagged_on_jan_20(workspace, [(plan_of(workspace, 10000), 1)])

    cancelled = services.subscription_cancel(subscription=subscription, now=MAR_20)

    assert (cancelled.status, cancelled.next_billing) == (SubscriptionStatus.CANCELLED, None)
    assert cancelled.cancelled_at == MAR_20
    # 10,000 a period + IVA 1,900 = 11,900: the period it paid for and the two held.
    expected = [
        (date(2026, 1, 15), date(2026, 2, 15), D(10000), D(1900), D(11900)),
        (date(2026, 2, 15), date(2026, 3, 15), D(10000), D(1900), D(11900)),
        (date(2026, 3, 15), date(2026, 4, 15), D(10000), D(1900), D(11900)),
    ]
    assert [(r[2], r[3], r[5], r[6], r[7]) for r in invoice_rows(subscription)] == expected
    # The clock moving on bills nothing more.
    clock_advance(workspace=workspace, test_mode=True, now=MAR_20, to=santiago(2026, 6, 1, 9, 0))
    assert len(invoice_rows(subscription)) == 3


def test_cancelled_now_with_usage_and_prorate_bills_held_periods_then_usage_then_credit() -> None:
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    tokens = plan_of(workspace, 2, name="Tokens", usage_scheme="metered")
    subscription = _flagged_on_jan_20(workspace, [(plan_of(workspace, 10000), 1), (tokens, 1)])
    line = subscription.lines.get(plan=tokens)
    for quantity, at in ((100, santiago(2026, 2, 1, 9, 0)), (200, santiago(2026, 2, 20, 9, 0)),
                         (300, santiago(2026, 3, 18, 9, 0))):  # fmt: skip
        usage_record_create(
            workspace=workspace, test_mode=True, subscription_line=line, quantity=D(quantity),
            date_time=at, now=MAR_20,
        )  # fmt: skip

    services.subscription_cancel(subscription=subscription, now=MAR_20, prorate=True)

    invoices = list(Invoice.objects.filter(subscription_id=subscription.id).order_by("number"))
    # Jan 15: the base alone (no period ended yet). Feb 15: base + Jan 15 – Feb 15's 100
    # tokens × 2 = 10,200, IVA 1,938. Mar 15: base + 200 × 2 = 10,400, IVA 1,976. Then
    # the final invoice: Mar 15 – Mar 20's 300 × 2 = 600, IVA 114.
    assert [(i.period_start, i.subtotal, i.tax, i.total) for i in invoices] == [
        (date(2026, 1, 15), D(10000), D(1900), D(11900)),
        (date(2026, 2, 15), D(10200), D(1938), D(12138)),
        (date(2026, 3, 15), D(10400), D(1976), D(12376)),
        (date(2026, 3, 15), D(600), D(114), D(714)),
    ]
    kinds = dict(BilledPeriod.objects.filter(subscription=subscription).values_list(
        "invoice_id", "kind"))  # fmt: skip
    assert [kinds[i.id] for i in invoices] == ["cycle", "cycle", "cycle", "final"]
    # The unused days of the period running today (Mar 20 – Apr 15: 26 of 31) are
    # credited on the invoice that billed it, the held Mar 15 one: 10,000 × 26/31 =
    # 8,387.10 → 8,387, IVA 1,593.53 → 1,594.
    [note] = CreditNote.objects.filter(invoice__subscription_id=subscription.id)
    assert (note.invoice_id, note.subtotal, note.tax, note.total) == (
        invoices[2].id, D(8387), D(1594), D(9981),
    )  # fmt: skip


@pytest.fixture
def tester() -> Tenant:
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=santiago(2026, 3, 10, 9, 0)
    )
    return tenant


def _periods(tenant: Tenant, sub: str) -> list[tuple[str, str, int]]:
    body = tenant.client.get(f"/subscriptions/{sub}/invoices/?page_size=100").json()
    return sorted((i["period_start"], i["period_end"], i["total"]) for i in body["results"])


def test_delete_of_a_subscription_whose_card_declines_bills_its_held_periods(
    tester: Tenant,
) -> None:
    scope = {"workspace": tester.workspace, "test_mode": tester.test_mode}
    customer = CustomerFactory(**scope)
    card = {"number": sandbox.DECLINED, "exp_month": 12, "exp_year": 2034}
    source = tester.client.post("/sources/", {"customer": customer.id, "card": card},
                                format="json").json()  # fmt: skip
    body = {
        "customer": customer.id, "collection_scheme": "charge_payment",
        "default_source": source["id"],
        "lines": [{"plan": PlanFactory(**scope, amount=D(10000)).id, "quantity": 1}],
    }  # fmt: skip
    sub = tester.client.post("/subscriptions/", body, format="json").json()["id"]
    # Declined Mar 10, 11, 13, 15 and 17: it needs attention from Mar 17, and Apr 10 and
    # May 10 come due while it does.
    advance_over_api(tester, "2026-05-20T09:00:00-04:00")
    assert tester.client.get(f"/subscriptions/{sub}/").json()["status"] == "needs_attention"
    assert len(_periods(tester, sub)) == 1

    response = tester.client.delete(f"/subscriptions/{sub}/?cancel_reason=not_paid")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["next_billing"]) == ("cancelled", None)
    held = [
        ("2026-03-10", "2026-04-10", 11900),
        ("2026-04-10", "2026-05-10", 11900),
        ("2026-05-10", "2026-06-10", 11900),
    ]
    assert _periods(tester, sub) == held
    # A retried DELETE changes nothing, nor does the clock moving on.
    again = tester.client.delete(f"/subscriptions/{sub}/?cancel_reason=not_paid")
    assert again.status_code == 409, again.json()
    advance_over_api(tester, "2026-08-01T09:00:00-04:00")
    assert _periods(tester, sub) == held


def test_the_admins_cancel_now_bills_the_held_periods(admin_client) -> None:  # type: ignore[no-untyped-def]
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    subscription = _flagged_on_jan_20(workspace, [(plan_of(workspace, 10000), 1)])

    response = admin_client.post(
        reverse("admin:subscriptions_subscription_changelist"),
        {"action": "cancel", "_selected_action": [subscription.pk]},
    )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert [(r[2], r[7]) for r in invoice_rows(subscription)] == [
        (date(2026, 1, 15), D(11900)), (date(2026, 2, 15), D(11900)),
        (date(2026, 3, 15), D(11900)),
    ]  # fmt: skip


def test_a_plan_change_while_it_needs_attention_bills_the_held_periods_at_the_old_plan() -> None:
    # Basic 30,000 until Mar 20, then Premium 60,000. Feb 15 and Mar 15 came due on Basic:
    # 30,000 each. Mar 15 – Apr 15 has 31 days, 26 left on Mar 20: Basic is credited
    # 30,000 × 26/31 = 25,161.29 → 25,161 on the Mar 15 invoice, and Premium charged
    # 60,000 × 26/31 = 50,322.58 → 50,323; from Apr 15 Premium in full.
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    basic, premium = plan_of(workspace, 30000, name="Basic"), plan_of(workspace, 60000)
    subscription = _flagged_on_jan_20(workspace, [(basic, 1)])

    services.subscription_update(
        subscription=subscription, now=MAR_20, lines=[{"plan": premium, "quantity": D(1)}]
    )
    resumed = services.subscription_resume(subscription=subscription, now=MAR_20)
    clock_advance(workspace=workspace, test_mode=True, now=MAR_20, to=santiago(2026, 4, 16, 9, 0))

    assert resumed.next_billing == date(2026, 4, 15)
    assert [(r[2], r[3], r[5]) for r in invoice_rows(subscription)] == [
        (date(2026, 1, 15), date(2026, 2, 15), D(30000)),
        (date(2026, 2, 15), date(2026, 3, 15), D(30000)),
        (date(2026, 3, 15), date(2026, 4, 15), D(30000)),
        (date(2026, 3, 20), date(2026, 4, 15), D(50323)),
        (date(2026, 4, 15), date(2026, 5, 15), D(60000)),
    ]
    [note] = CreditNote.objects.filter(invoice__subscription_id=subscription.id)
    assert (note.invoice.period_start, note.subtotal) == (date(2026, 3, 15), D(25161))


def test_a_note_edited_while_it_needs_attention_bills_nothing() -> None:
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    plan = plan_of(workspace, 10000)
    subscription = _flagged_on_jan_20(workspace, [(plan, 1)])

    kept = services.subscription_update(
        subscription=subscription, now=MAR_20, note="Orden 42",
        lines=[{"plan": plan, "quantity": D(1)}],
    )  # fmt: skip

    assert (kept.status, kept.next_billing) == ("needs_attention", date(2026, 2, 15))
    assert len(invoice_rows(subscription)) == 1


def test_a_coupon_added_while_it_needs_attention_applies_after_the_held_periods() -> None:
    # 50 % off from the next invoice after Mar 20: Feb 15 and Mar 15 came due before it,
    # at 10,000; Apr 15 is 5,000.
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    subscription = _flagged_on_jan_20(workspace, [(plan_of(workspace, 10000), 1)])
    half = coupon_of(workspace, amount=D(50), discount_scheme="%", duration_scheme="forever")

    services.subscription_update(subscription=subscription, now=MAR_20, coupon=half)
    services.subscription_resume(subscription=subscription, now=MAR_20)
    clock_advance(workspace=workspace, test_mode=True, now=MAR_20, to=santiago(2026, 4, 16, 9, 0))

    assert [(r[2], r[5]) for r in invoice_rows(subscription)] == [
        (date(2026, 1, 15), D(10000)), (date(2026, 2, 15), D(10000)),
        (date(2026, 3, 15), D(10000)), (date(2026, 4, 15), D(5000)),
    ]  # fmt: skip


def test_an_addon_added_while_it_needs_attention_applies_after_the_held_periods() -> None:
    # A one-time 5,000 add-on added on Mar 20 goes on the next invoice after the change:
    # Feb 15 and Mar 15 came due before it, at 10,000; Apr 15 is 10,000 + 5,000 = 15,000.
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    subscription = _flagged_on_jan_20(workspace, [(plan_of(workspace, 10000), 1)])
    setup = addon_of(workspace, 5000, name="Instalación", apply_scheme="one_time")

    services.subscription_update(
        subscription=subscription, now=MAR_20, addons=[{"addon": setup, "quantity": D(1)}]
    )
    services.subscription_resume(subscription=subscription, now=MAR_20)
    clock_advance(workspace=workspace, test_mode=True, now=MAR_20, to=santiago(2026, 5, 16, 9, 0))

    assert [(r[2], r[5]) for r in invoice_rows(subscription)] == [
        (date(2026, 1, 15), D(10000)), (date(2026, 2, 15), D(10000)),
        (date(2026, 3, 15), D(10000)), (date(2026, 4, 15), D(15000)),
        (date(2026, 5, 15), D(10000)),
    ]  # fmt: skip


def test_addons_sent_back_unchanged_while_it_needs_attention_bill_nothing() -> None:
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    setup = addon_of(workspace, 5000, apply_scheme="one_time")
    subscription = _flagged_on_jan_20(
        workspace, [(plan_of(workspace, 10000), 1)], addons=[{"addon": setup, "quantity": D(1)}]
    )

    kept = services.subscription_update(
        subscription=subscription, now=MAR_20, addons=[{"addon": setup, "quantity": D(1)}]
    )

    assert (kept.status, kept.next_billing) == ("needs_attention", date(2026, 2, 15))
    assert len(invoice_rows(subscription)) == 1


def test_cancelled_now_when_its_held_periods_are_its_last_cycles_it_ends_finalized() -> None:
    # Three cycles: Jan 15 billed, Feb 15 and Mar 15 held. Billing them ends it.
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    subscription = _flagged_on_jan_20(workspace, [(plan_of(workspace, 10000), 1)], billing_cycles=3)

    ended = services.subscription_cancel(subscription=subscription, now=MAR_20)

    assert (ended.status, ended.next_billing) == (SubscriptionStatus.FINALIZED, None)
    assert [r[2] for r in invoice_rows(subscription)] == [
        date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15),
    ]  # fmt: skip


def test_a_change_when_its_held_periods_are_its_last_cycles_is_refused_and_bills_nothing() -> None:
    workspace = workspace_at(santiago(2026, 1, 15, 9, 0))
    subscription = _flagged_on_jan_20(workspace, [(plan_of(workspace, 10000), 1)], billing_cycles=3)

    with pytest.raises(DomainError) as refused:
        services.subscription_update(
            subscription=subscription, now=MAR_20,
            lines=[{"plan": plan_of(workspace, 20000), "quantity": D(1)}],
        )  # fmt: skip

    assert refused.value.code == "subscription_not_editable"
    subscription.refresh_from_db()
    assert (subscription.status, subscription.next_billing) == (
        "needs_attention",
        date(2026, 2, 15),
    )
    assert len(invoice_rows(subscription)) == 1
