"""A subscription's branch (Piriod's `orgunit`): set through the API within the caller's
workspace, listed by, named on every invoice the subscription generates, and kept from
deletion while a subscription names it."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.clock import clock_now
from billing.models import Workspace
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from metering.services.records import usage_record_create
from organization.models import OrgUnit
from organization.tests.factories import OrgUnitFactory
from subscriptions import services
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services import cycles
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db

START = santiago(2026, 3, 10, 9, 0)
DUE = santiago(2026, 4, 10, 9, 0)


@pytest.fixture
def tester() -> Tenant:
    """A test-mode caller whose workspace's clock stands at START."""
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_clock_at=START)
    return tenant


def _unit(workspace: Workspace) -> OrgUnit:
    return OrgUnitFactory(workspace=workspace, test_mode=True)


def _body(tenant: Tenant, **fields):  # type: ignore[no-untyped-def]
    scope = {"workspace": tenant.workspace, "test_mode": True}
    return {
        "customer": CustomerFactory(**scope).id,
        "lines": [{"plan": PlanFactory(**scope).id, "quantity": 1}],
        **fields,
    }


def _orgunits(subscription_id: str) -> list[str | None]:
    invoices = Invoice.objects.filter(subscription_id=subscription_id)
    return list(invoices.order_by("created_at", "id").values_list("orgunit_id", flat=True))


def _move_clock(workspace: Workspace, at: datetime) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at


def test_orgunit_is_set_on_create_put_and_patch_cleared_with_null_and_filterable(
    tester: Tenant,
) -> None:
    unit, other = _unit(tester.workspace), _unit(tester.workspace)

    created = tester.client.post("/subscriptions/", _body(tester, orgunit=unit.id), format="json")
    assert created.status_code == 201, created.json()
    sub = created.json()["id"]
    plain = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    listed = tester.client.get("/subscriptions/", {"orgunit": unit.id}).json()
    put = tester.client.put(f"/subscriptions/{sub}/", {"orgunit": other.id}, format="json")
    cleared = tester.client.patch(f"/subscriptions/{sub}/", {"orgunit": None}, format="json")

    assert created.json()["orgunit"] == unit.id
    assert plain["orgunit"] is None
    assert [row["id"] for row in listed["results"]] == [sub]
    assert put.status_code == 200, put.json()
    assert put.json()["orgunit"] == other.id
    assert cleared.status_code == 200, cleared.json()
    assert cleared.json()["orgunit"] is None
    assert tester.client.get(f"/subscriptions/{sub}/").json()["orgunit"] is None


@pytest.mark.parametrize("method", ["post", "patch"])
def test_another_workspaces_or_an_unknown_orgunit_is_a_400_on_the_field(
    tester: Tenant, method: str
) -> None:
    foreign = OrgUnitFactory(workspace=make_tenant().workspace, test_mode=True)
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()["id"]

    for orgunit in (foreign.id, "ou_missing"):
        if method == "post":
            response = tester.client.post(
                "/subscriptions/", _body(tester, orgunit=orgunit), format="json"
            )
        else:
            response = tester.client.patch(
                f"/subscriptions/{sub}/", {"orgunit": orgunit}, format="json"
            )
        assert response.status_code == 400, response.json()
        assert list(response.json()) == ["orgunit"]
    assert Subscription.objects.get(pk=sub).orgunit_id is None


def test_filtering_by_another_workspaces_orgunit_is_a_404_as_its_own_route(
    tester: Tenant,
) -> None:
    foreign = OrgUnitFactory(workspace=make_tenant().workspace, test_mode=True)

    response = tester.client.get("/subscriptions/", {"orgunit": foreign.id})

    assert response.status_code == 404, response.json()


def test_cycle_invoices_issued_together_each_name_their_subscriptions_orgunit() -> None:
    workspace = workspace_at(START)
    north, south = _unit(workspace), _unit(workspace)
    plan = plan_of(workspace)
    subs = [
        subscribe(workspace, START, [(plan, 1)], orgunit=north),
        subscribe(workspace, START, [(plan, 1)], orgunit=south),
        subscribe(workspace, START, [(plan, 1)]),
    ]
    # The branch changes before the next cycle: the next invoice is issued from the new one.
    services.subscription_update(subscription=subs[1], now=START, orgunit=north)
    _move_clock(workspace, DUE)

    # One batch: the cycle's bulk path writes the three invoices together.
    assert cycles.cycle_run(clock=clock_now, now=DUE) == 3

    assert [_orgunits(s.id) for s in subs] == [
        [north.id, north.id], [south.id, north.id], [None, None]
    ]  # fmt: skip


def test_a_proration_invoice_names_the_subscriptions_orgunit() -> None:
    workspace = workspace_at(START)
    unit = _unit(workspace)
    seat = plan_of(workspace, 10000, name="Seat")
    subscription = subscribe(workspace, START, [(seat, 1)], orgunit=unit)
    later = santiago(2026, 3, 20, 9, 0)
    clock_advance(workspace=workspace, test_mode=True, now=START, to=later)

    services.subscription_update(
        subscription=subscription, now=later, lines=[{"plan": seat, "quantity": Decimal(2)}]
    )

    proration = BilledPeriod.objects.get(subscription=subscription, kind="proration")
    assert proration.invoice.orgunit_id == unit.id
    assert _orgunits(subscription.id) == [unit.id, unit.id]


def test_a_final_usage_invoice_names_the_subscriptions_orgunit() -> None:
    workspace = workspace_at(START)
    unit = _unit(workspace)
    metered = plan_of(workspace, 2, name="Tokens", usage_scheme="metered")
    subscription = subscribe(
        workspace, START, [(plan_of(workspace), 1), (metered, 1)], orgunit=unit
    )
    later = santiago(2026, 3, 20, 9, 0)
    _move_clock(workspace, later)
    line = subscription.lines.get(plan=metered)
    usage_record_create(
        workspace=workspace, test_mode=True, subscription_line=line, quantity=Decimal(7),
        date_time=santiago(2026, 3, 15, 9, 0), now=later,
    )  # fmt: skip

    services.subscription_cancel(subscription=subscription, now=later)

    final = BilledPeriod.objects.get(subscription=subscription, kind="final")
    assert final.invoice.orgunit_id == unit.id


def test_an_orgunit_a_subscription_names_cannot_be_deleted(tester: Tenant) -> None:
    unit = _unit(tester.workspace)
    sub = tester.client.post("/subscriptions/", _body(tester, orgunit=unit.id), format="json")
    # The invoice billed at create names it too: move it off, so the subscription alone does.
    Invoice.objects.filter(subscription_id=sub.json()["id"]).update(orgunit=None)

    response = tester.client.delete(f"/orgunits/{unit.id}/")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "orgunit_in_use"
    assert OrgUnit.objects.filter(pk=unit.id).exists()


def test_the_admin_shows_the_subscriptions_orgunit(admin_client) -> None:  # type: ignore[no-untyped-def]
    workspace = workspace_at(START)
    unit = OrgUnitFactory(workspace=workspace, test_mode=True, name="Sucursal Temuco")
    subscription = subscribe(workspace, START, [(plan_of(workspace), 1)], orgunit=unit)
    subscribe(workspace, START, [(plan_of(workspace), 1)], customer=customer_of(workspace))

    listed = admin_client.get(reverse("admin:subscriptions_subscription_changelist"))
    page = admin_client.get(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    )

    assert listed.status_code == 200 and page.status_code == 200
    assert "Sucursal Temuco" in listed.content.decode()
    assert "Sucursal Temuco" in page.content.decode()
