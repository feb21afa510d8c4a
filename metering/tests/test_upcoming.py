"""The upcoming invoice previews what the next cycle bills, by the cycle's own rule: no
invoice when none will be issued, and the usage up to and including now."""

from decimal import Decimal
from typing import Any

import pytest

from billing.clock import clock_now
from billing.models import Workspace
from invoices.models import Invoice
from metering.models import Meter
from metering.services.events import events_ingest
from subscriptions import services
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.tests.helpers import (
    coupon_of,
    customer_of,
    plan_of,
    santiago,
    subscribe,
)
from tests.conftest import make_tenant

D = Decimal
START = santiago(2026, 1, 10, 9, 0)
MID = santiago(2026, 1, 25, 12, 0)
DUE = santiago(2026, 2, 10, 9, 0)


def _move_clock(workspace: Workspace, at: Any) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at


def _setup(**fields: Any) -> tuple[Any, Subscription, Any]:
    tenant = make_tenant(test_mode=True)
    workspace = tenant.workspace
    _move_clock(workspace, START)
    meter = Meter.objects.create(
        workspace=workspace, test_mode=True, name="Tokens", event_name="tokens",
        aggregation="sum", field="tokens",
    )  # fmt: skip
    fixed = plan_of(workspace, 10000, name="Base")
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered", meter_id=meter.id)
    customer = customer_of(workspace)
    subscription = subscribe(
        workspace, START, [(fixed, 1), (metered, 1)], customer=customer, **fields
    )
    _move_clock(workspace, MID)
    return tenant, subscription, customer


def _send(workspace: Workspace, customer: str, tokens: Any, at: Any = None) -> None:
    event: dict[str, Any] = {"event_id": f"e{tokens}", "event_name": "tokens",
                             "customer": customer, "properties": {"tokens": tokens}}  # fmt: skip
    if at is not None:
        event["timestamp"] = at.isoformat()
    events_ingest(
        workspace=workspace, test_mode=True,
        now=clock_now(workspace=workspace, test_mode=True), events=[event],
    )  # fmt: skip


def _upcoming(tenant: Any, subscription: Subscription) -> Any:
    return tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/")


def _lines(body: dict[str, Any]) -> list[tuple[str, Decimal]]:
    return [(line["name"], D(str(line["total"]))) for line in body["lines"]]


def _none(response: Any) -> None:
    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "invoice_upcoming_none"


@pytest.mark.django_db
def test_cancelled_at_period_end_it_previews_the_usage_only_as_the_final_invoice_bills():
    tenant, subscription, customer = _setup()
    _send(tenant.workspace, customer.id, 30, santiago(2026, 1, 20))
    services.subscription_cancel(subscription=subscription, now=MID, at_period_end=True)

    response = _upcoming(tenant, subscription)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert _lines(body) == [("Tokens (usage)", D(60))]
    assert (body["period_start"], body["period_end"]) == ("2026-01-10", "2026-02-10")

    _move_clock(tenant.workspace, DUE)
    advanced = tenant.client.post("/test_clock/", {"advance_to": DUE.isoformat()}, format="json")
    assert advanced.status_code == 200, advanced.json()
    final = BilledPeriod.objects.get(subscription=subscription, kind="final").invoice
    assert [(line.name, line.total) for line in final.lines.all()] == _lines(body)


@pytest.mark.django_db
def test_cancelled_at_period_end_without_metered_lines_has_no_upcoming_invoice():
    tenant = make_tenant(test_mode=True)
    _move_clock(tenant.workspace, START)
    subscription = subscribe(tenant.workspace, START, [(plan_of(tenant.workspace), 1)])
    services.subscription_cancel(subscription=subscription, now=START, at_period_end=True)
    _none(_upcoming(tenant, subscription))


@pytest.mark.django_db
def test_a_subscription_paused_past_its_billing_previews_the_period_a_resume_bills():
    tenant, subscription, _ = _setup()
    services.subscription_pause(subscription=subscription, now=MID)
    later = santiago(2026, 2, 20, 9, 0)
    _move_clock(tenant.workspace, later)

    body = _upcoming(tenant, subscription).json()
    # 2026-02-10 is never billed: a resume today bills from the next boundary on.
    assert (body["period_start"], body["period_end"]) == ("2026-03-10", "2026-04-10")

    subscription.refresh_from_db()
    services.subscription_resume(subscription=subscription, now=later)
    subscription.refresh_from_db()
    assert subscription.next_billing.isoformat() == body["period_start"]


@pytest.mark.django_db
def test_a_subscription_that_needs_attention_has_an_upcoming_invoice():
    tenant, subscription, _ = _setup()
    Subscription.objects.filter(pk=subscription.pk).update(status="needs_attention")
    response = _upcoming(tenant, subscription)
    assert response.status_code == 200, response.json()
    assert response.json()["period_start"] == "2026-02-10"


@pytest.mark.django_db
def test_once_its_billing_cycles_are_billed_only_the_last_periods_usage_is_upcoming():
    tenant, subscription, customer = _setup(billing_cycles=1)
    _send(tenant.workspace, customer.id, 5, santiago(2026, 1, 20))
    body = _upcoming(tenant, subscription).json()
    assert _lines(body) == [("Tokens (usage)", D(10))]
    assert (body["period_start"], body["period_end"]) == ("2026-01-10", "2026-02-10")


@pytest.mark.django_db
def test_once_its_billing_cycles_are_billed_without_metered_lines_nothing_is_upcoming():
    tenant = make_tenant(test_mode=True)
    _move_clock(tenant.workspace, START)
    subscription = subscribe(
        tenant.workspace, START, [(plan_of(tenant.workspace), 1)], billing_cycles=1
    )
    # Finalized as its last cycle is billed; a stale row would say active.
    Subscription.objects.filter(pk=subscription.pk).update(status="active", next_billing=DUE.date())
    _none(_upcoming(tenant, subscription))


@pytest.mark.django_db
def test_usage_stamped_at_the_frozen_now_is_upcoming():
    tenant, subscription, customer = _setup()
    _send(tenant.workspace, customer.id, 7)  # no timestamp: the clock's now
    body = _upcoming(tenant, subscription).json()
    assert ("Tokens (usage)", D(14)) in _lines(body)


@pytest.mark.django_db
def test_usage_whose_price_no_invoice_holds_is_a_409_not_a_field_error():
    tenant, subscription, customer = _setup()
    _send(tenant.workspace, customer.id, "9" * 23, santiago(2026, 1, 20))
    response = _upcoming(tenant, subscription)
    assert (response.status_code, response.json()["code"]) == (409, "usage_out_of_range")


@pytest.mark.django_db
def test_the_upcoming_invoice_carries_its_discount():
    tenant, subscription, _ = _setup()
    coupon = coupon_of(tenant.workspace, duration_scheme="forever")  # 10 %
    Subscription.objects.filter(pk=subscription.pk).update(coupon=coupon)
    body = _upcoming(tenant, subscription).json()
    assert (D(str(body["discount"])), body["discount_scheme"]) == (D(10), "%")
    lines = sum(total for _, total in _lines(body))
    assert (lines, D(str(body["discount_amount"])), D(str(body["amount"]))) == (
        D(10000), D(1000), D(9000)
    )  # fmt: skip
    assert not Invoice.objects.filter(period_start="2026-02-10")
