"""Arrangements of the fault tests."""

from decimal import Decimal

from django.utils import timezone

from billing.clock import workspace_today
from billing.models import Country, Workspace
from catalog.models import Plan, Product
from customers.models import Customer
from subscriptions.calendar import local_midnight
from subscriptions.models import Subscription, SubscriptionLine


def add_due_subscriptions(workspace: Workspace, count: int) -> None:
    """`count` live monthly subscriptions due today in the workspace (bulk-inserted: this
    is setup, not the code under test)."""
    today = workspace_today(workspace, timezone.now())
    scope = {"workspace": workspace, "test_mode": False}
    product = Product.objects.create(**scope, name="Plataforma", unit_label="mes")
    plan = Plan.objects.create(
        **scope, product=product, name="Plan", currency_id="CLP", amount=Decimal(9990)
    )
    country = Country.objects.get(code="CL")
    customers = Customer.objects.bulk_create(
        Customer(**scope, name=f"Cliente {i}", country=country, currency_id="CLP",
                 tax_id="77123456-9", email=f"pagos{i}@cliente.cl")
        for i in range(50)
    )  # fmt: skip
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            **scope, customer=customers[i % len(customers)], document_id=33, currency_id="CLP",
            frequency="monthly", date_start=today, billing_anchor=today, next_billing=today,
            next_billing_at=local_midnight(today, workspace.timezone),
        )
        for i in range(count)
    )  # fmt: skip
    SubscriptionLine.objects.bulk_create(
        SubscriptionLine(subscription=s, plan=plan, quantity=Decimal(1)) for s in subscriptions
    )
