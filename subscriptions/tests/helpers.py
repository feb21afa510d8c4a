"""Arrangements shared by the subscription tests: a Chilean workspace on a test clock,
a customer, and the catalog a subscription names."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from billing.models import Workspace
from billing.tests.factories import WorkspaceFactory
from catalog.models import AddOn, Coupon, Plan, PlanTier
from catalog.tests.factories import AddOnFactory, CouponFactory, PlanFactory
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from subscriptions import services
from subscriptions.models import Subscription
from tests.conftest import Tenant

SANTIAGO = ZoneInfo("America/Santiago")


def santiago(*args: int) -> datetime:
    return datetime(*args, tzinfo=SANTIAGO)  # type: ignore[misc]


def workspace_at(now: datetime, *, timezone: str = "America/Santiago", **kwargs: Any) -> Workspace:
    """A workspace whose test clock stands at `now`."""
    return WorkspaceFactory(timezone=timezone, test_clock_at=now, **kwargs)


def customer_of(workspace: Workspace) -> Customer:
    return CustomerFactory(workspace=workspace, test_mode=True, email="billing@cliente.cl")


def plan_of(workspace: Workspace, amount: int = 10000, **kwargs: Any) -> Plan:
    return PlanFactory(workspace=workspace, test_mode=True, amount=Decimal(amount), **kwargs)


def graduated_plan_of(workspace: Workspace, **kwargs: Any) -> Plan:
    """Issue 13's graduated plan in pesos (its USD prices × 100): 1-1000 at 1 plus a flat
    1000, 1001-10000 at 0.8, then 0.5. 999 999 units cost 504 199.5 exactly."""
    plan = plan_of(workspace, 0, tiers_mode="range", **kwargs)
    PlanTier.objects.create(
        plan=plan, position=0, up_to=1000, amount=Decimal(1), flat_amount=Decimal(1000)
    )
    PlanTier.objects.create(plan=plan, position=1, up_to=10000, amount=Decimal("0.8"))
    PlanTier.objects.create(plan=plan, position=2, up_to=None, amount=Decimal("0.5"))
    return plan


def addon_of(workspace: Workspace, amount: int = 5000, **kwargs: Any) -> AddOn:
    return AddOnFactory(workspace=workspace, test_mode=True, amount=Decimal(amount), **kwargs)


def coupon_of(workspace: Workspace, **kwargs: Any) -> Coupon:
    return CouponFactory(workspace=workspace, test_mode=True, **kwargs)


def subscribe(
    workspace: Workspace,
    now: datetime,
    plans: list[tuple[Plan, int]],
    customer: Customer | None = None,
    **fields: Any,
) -> Subscription:
    return services.subscription_create(
        workspace=workspace,
        test_mode=True,
        customer=customer or customer_of(workspace),
        lines=[{"plan": plan, "quantity": Decimal(quantity)} for plan, quantity in plans],
        now=now,
        **fields,
    )


def invoice_rows(subscription: Subscription) -> list[tuple[Any, ...]]:
    """(number, date, period_start, period_end, due_date, subtotal, tax, total) per
    invoice, oldest first."""
    from invoices.models import Invoice

    return list(
        Invoice.objects.filter(subscription_id=subscription.id)
        .order_by("period_start", "created_at")
        .values_list(
            "number", "date", "period_start", "period_end", "due_date", "subtotal", "tax",
            "total",
        )
    )  # fmt: skip


def subscribe_over_api(tenant: Tenant) -> str:
    """A subscription to one plan of a new customer, made by POST /subscriptions/: its id."""
    scope = {"workspace": tenant.workspace, "test_mode": tenant.test_mode}
    body = {"customer": CustomerFactory(**scope).id,
            "lines": [{"plan": PlanFactory(**scope).id, "quantity": 1}]}  # fmt: skip
    response = tenant.client.post("/subscriptions/", body, format="json")
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def advance_over_api(tenant: Tenant, to: str) -> None:
    """The workspace's test clock moved to `to` by POST /test_clock/."""
    response = tenant.client.post("/test_clock/", {"advance_to": to}, format="json")
    assert response.status_code == 200, response.json()
