"""Orders that subscribe: invoicing an order with plans starts their subscription, whose
first period the order's invoice bills, once."""

from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from psycopg.errors import UniqueViolation

from billing.clock import clock_now
from billing.models import Event, Workspace
from catalog.tests.factories import PlanFactory
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from organization.tests.factories import OrgUnitFactory
from payments.gateways import sandbox
from payments.services import source_create_sandbox_card
from subscriptions.choices import CollectionStatus
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services.collection import period_collect
from subscriptions.services.cycles import cycle_bill, cycle_run
from subscriptions.tests.helpers import santiago
from tests.conftest import Tenant, make_tenant
from tests.numbers import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def tester() -> Tenant:
    """A test-mode caller whose workspace's clock stands at 2026-03-10 09:00 in Santiago."""
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=santiago(2026, 3, 10, 9, 0)
    )
    return tenant


def _order(tenant: Tenant, items: list[dict], **fields: object) -> dict:
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=True)
    response = tenant.client.post(
        "/orders/", {"customer": customer.id, "items": items, **fields}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _invoice(tenant: Tenant, order: dict) -> Any:
    """Confirm the order, then invoice it."""
    confirmed = tenant.client.post(f"/orders/{order['id']}/confirm/")
    assert confirmed.status_code == 200, confirmed.json()
    return tenant.client.post(f"/orders/{order['id']}/invoice/")


def _plan(tenant: Tenant, **fields: object) -> str:
    return PlanFactory(workspace=tenant.workspace, test_mode=True, **fields).id


def test_an_order_with_a_monthly_plan_starts_its_subscription_billed_by_its_invoice(
    tester: Tenant,
) -> None:
    plan = _plan(tester, name="Pro mensual")
    order = _order(
        tester,
        [{"plan": plan, "quantity": 2}, {"name": "Onboarding", "amount": "90000"}],
        billing_cycle=6,
    )
    assert (order["billing_cycle"], order["subscription"]) == (6, None)

    invoiced = _invoice(tester, order)

    assert invoiced.status_code == 200, invoiced.json()
    sub_id = invoiced.json()["subscription"]
    assert sub_id.startswith("sub_")
    sub = tester.client.get(f"/subscriptions/{sub_id}/").json()
    assert (sub["status"], sub["frequency"], sub["customer"], sub["billing_cycles"]) == (
        "active", "monthly", order["customer"], 6
    )  # fmt: skip
    assert (sub["date_start"], sub["previous_billing"], sub["next_billing"]) == (
        "2026-03-10", "2026-03-10", "2026-04-10"
    )  # fmt: skip
    assert sub["next_billing_cycle"] == 2
    assert sub["lines"] == [
        {"id": sub["lines"][0]["id"], "plan": plan, "quantity": D("2.000000"), "coupon": None}
    ]
    # The order's invoice is the first period's: in the billing history, recorded as billed.
    history = tester.client.get(f"/subscriptions/{sub_id}/invoices/").json()
    [first] = history["results"]
    assert first["id"] == invoiced.json()["invoice"]
    assert (first["status"], first["subscription"], first["period_start"], first["period_end"]) == (
        "draft", sub_id, "2026-03-10", "2026-04-10"
    )  # fmt: skip
    assert first["total"] == order["total"]  # 2 × 10,000 + 90,000, + IVA: unchanged
    assert BilledPeriod.objects.get(subscription_id=sub_id).invoice_id == first["id"]
    types = set(Event.objects.filter(object_id=sub_id).values_list("type", flat=True))
    assert types == {"subscription.created", "subscription.invoiced"}

    # Running the cycle at the order's date bills nothing: the period is billed.
    workspace = Workspace.objects.get(pk=tester.workspace.pk)
    now = clock_now(workspace=workspace, test_mode=True)
    assert cycle_run(clock=clock_now, now=now, workspace=workspace, test_mode=True) == 0
    # process answers the period already billed, and bills nothing more.
    processed = tester.client.post(f"/subscriptions/{sub_id}/process/")
    assert processed.status_code == 200, processed.json()
    assert processed.json()["next_billing"] == "2026-04-10"
    assert BilledPeriod.objects.filter(subscription_id=sub_id).count() == 1
    # Even forced due again, the period cannot be billed twice (G4's constraint).
    Subscription.objects.filter(pk=sub_id).update(next_billing=first["period_start"],
                                                  next_billing_at=now)  # fmt: skip
    # (bulk_insert's COPY raises psycopg's error, not Django's wrapper)
    with pytest.raises((IntegrityError, UniqueViolation)), transaction.atomic():
        cycle_bill(subscription_ids=[sub_id], clock=clock_now, wait=True)
    Subscription.objects.filter(pk=sub_id).update(
        next_billing="2026-04-10", next_billing_at=santiago(2026, 4, 10, 0, 0)
    )

    # A month on, the plan alone is billed: 2 × 10,000 + IVA.
    advanced = tester.client.post(
        "/test_clock/", {"advance_to": "2026-04-10T09:00:00-04:00"}, format="json"
    )
    assert advanced.status_code == 200, advanced.json()
    history = tester.client.get(f"/subscriptions/{sub_id}/invoices/").json()
    assert [(i["period_start"], i["total"]) for i in history["results"]] == [
        ("2026-04-10", D("23800")), ("2026-03-10", order["total"])
    ]  # fmt: skip


def test_an_order_of_one_billing_cycle_finalizes_its_subscription_at_once(
    tester: Tenant,
) -> None:
    order = _order(tester, [{"plan": _plan(tester, frequency="annual")}], billing_cycle=1)
    sub_id = _invoice(tester, order).json()["subscription"]
    sub = tester.client.get(f"/subscriptions/{sub_id}/").json()
    assert (sub["status"], sub["frequency"], sub["next_billing"]) == ("finalized", "annual", None)
    invoice = Invoice.objects.get(subscription_id=sub_id)
    assert (str(invoice.period_start), str(invoice.period_end)) == ("2026-03-10", "2027-03-10")


def test_an_order_without_a_plan_starts_no_subscription(tester: Tenant) -> None:
    order = _order(tester, [{"name": "Consultoría", "amount": "50000"}])
    invoiced = _invoice(tester, order).json()
    assert invoiced["subscription"] is None
    assert not Subscription.objects.filter(workspace=tester.workspace).exists()
    assert Invoice.objects.get(pk=invoiced["invoice"]).subscription_id is None


@pytest.mark.parametrize(
    ("billing_cycle", "plan", "message"),
    [(3, False, "Only an order with a plan"), (0, True, "greater than or equal to 1"),
     ("two", True, "A valid integer")],
)  # fmt: skip
def test_bad_billing_cycles_are_400(
    tester: Tenant, billing_cycle: object, plan: bool, message: str
) -> None:
    customer = CustomerFactory(workspace=tester.workspace, test_mode=True)
    item = {"plan": _plan(tester)} if plan else {"name": "Setup", "amount": "1000"}
    response = tester.client.post(
        "/orders/",
        {"customer": customer.id, "items": [item], "billing_cycle": billing_cycle},
        format="json",
    )
    assert response.status_code == 400
    assert message in response.json()["billing_cycle"][0]


def test_plans_of_two_frequencies_cannot_make_one_subscription(tester: Tenant) -> None:
    customer = CustomerFactory(workspace=tester.workspace, test_mode=True)
    items = [{"plan": _plan(tester)}, {"plan": _plan(tester, frequency="annual")}]
    response = tester.client.post(
        "/orders/", {"customer": customer.id, "items": items}, format="json"
    )
    assert response.status_code == 400 and "items" in response.json()


def test_an_order_paid_through_an_intent_subscribes_and_its_paid_invoice_is_not_collected_again(
    tester: Tenant,
) -> None:
    order = _order(tester, [{"plan": _plan(tester), "quantity": 3}])
    intent = tester.client.post("/intents/", {"order": order["id"]}, format="json").json()
    customer = Customer.objects.get(pk=order["customer"])
    source = source_create_sandbox_card(
        customer=customer, card_number=sandbox.SUCCEEDS, exp_month=1, exp_year=2030,
        now=santiago(2026, 3, 10, 9, 0),
    )  # fmt: skip

    confirmed = tester.client.post(
        f"/intents/{intent['id']}/confirm/", {"source": source.id}, format="json"
    )

    assert confirmed.json()["status"] == "finalized", confirmed.json()
    paid = tester.client.get(f"/orders/{order['id']}/").json()
    sub = tester.client.get(f"/subscriptions/{paid['subscription']}/").json()
    assert (sub["status"], sub["next_billing"]) == ("active", "2026-04-10")
    period = BilledPeriod.objects.get(subscription_id=sub["id"])
    assert (period.invoice_id, period.invoice.status) == (paid["invoice"], "paid")
    mail.outbox.clear()
    assert period_collect(period_id=period.pk, clock=clock_now) == CollectionStatus.SUCCEEDED
    assert mail.outbox == []  # paid already: neither emailed nor charged again


def test_an_order_names_its_orgunit_and_its_invoice_and_subscription_carry_it(
    tester: Tenant,
) -> None:
    unit = OrgUnitFactory(workspace=tester.workspace, test_mode=True)
    order = _order(tester, [{"plan": _plan(tester)}], orgunit=unit.id)
    assert order["orgunit"] == unit.id

    invoiced = _invoice(tester, order).json()

    sub = tester.client.get(f"/subscriptions/{invoiced['subscription']}/").json()
    first = tester.client.get(f"/invoices/{invoiced['invoice']}/").json()
    assert (sub["orgunit"], first["orgunit"]) == (unit.id, unit.id)
    advanced = tester.client.post(
        "/test_clock/", {"advance_to": "2026-04-10T09:00:00-04:00"}, format="json"
    )
    assert advanced.status_code == 200, advanced.json()
    history = tester.client.get(f"/subscriptions/{sub['id']}/invoices/").json()
    assert [i["orgunit"] for i in history["results"]] == [unit.id, unit.id]


def test_an_order_without_an_orgunit_starts_a_subscription_without_one(tester: Tenant) -> None:
    order = _order(tester, [{"plan": _plan(tester)}])
    assert order["orgunit"] is None
    invoiced = _invoice(tester, order).json()
    sub = tester.client.get(f"/subscriptions/{invoiced['subscription']}/").json()
    assert sub["orgunit"] is None


def test_an_order_cannot_name_another_workspaces_orgunit(tester: Tenant) -> None:
    other = OrgUnitFactory(workspace=make_tenant(test_mode=True).workspace, test_mode=True)
    customer = CustomerFactory(workspace=tester.workspace, test_mode=True)
    response = tester.client.post(
        "/orders/",
        {"customer": customer.id, "items": [{"plan": _plan(tester)}], "orgunit": other.id},
        format="json",
    )
    assert response.status_code == 400 and "orgunit" in response.json()
