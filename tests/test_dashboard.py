"""The admin dashboard: staff only, and its figures are the live-mode data's."""

import json
import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from config.dashboard import monthly_recurring_revenue
from invoices.models import Invoice
from metering.store.partitions import month_start
from metering.tests.factories import MeterFactory, UsageEventFactory
from subscriptions.models import SubscriptionLine
from tests.conftest import make_tenant
from tests.factories import (
    CustomerFactory,
    FinalizedInvoiceFactory,
    InvoiceFactory,
    PaymentFactory,
    PlanFactory,
    SubscriptionFactory,
    UserFactory,
)
from tests.numbers import D

pytestmark = pytest.mark.django_db


def _client(**flags: bool) -> Client:
    client = Client()
    client.force_login(UserFactory(**flags))
    return client


def test_only_staff_see_the_dashboard() -> None:
    assert _client().get("/admin/dashboard/").status_code == 302  # to the admin's login
    assert _client(is_staff=True).get("/admin/dashboard/").status_code == 200


@pytest.mark.postgresql
def test_the_figures_are_the_live_mode_s() -> None:
    workspace = make_tenant().workspace
    FinalizedInvoiceFactory.create_batch(2, workspace=workspace)
    InvoiceFactory(workspace=workspace)  # a draft is no revenue
    test_workspace = make_tenant(test_mode=True).workspace
    FinalizedInvoiceFactory(workspace=test_workspace, test_mode=True)
    PaymentFactory(workspace=workspace)
    PaymentFactory(workspace=workspace, status="failed")
    SubscriptionFactory.create_batch(2, workspace=workspace)
    SubscriptionFactory(workspace=workspace, status="cancelled", cancelled_at=timezone.now())
    SubscriptionFactory(
        workspace=workspace, status="cancelled", cancelled_at=timezone.now() - timedelta(days=90)
    )
    SubscriptionFactory(workspace=test_workspace, test_mode=True)

    page = _client(is_staff=True).get("/admin/dashboard/")

    html = page.content.decode()
    data = json.loads(
        re.search(
            r'<script id="dashboard-data" type="application/json">(.*?)</script>', html
        ).group(1)  # type: ignore[union-attr]
    )
    assert data["revenue"]["labels"] == ["2026-01"]
    assert data["revenue"]["series"] == [
        {"label": "CLP", "data": ["2380.000000"], "shown": ["$2.380"]}
    ]
    assert dict(zip(data["invoices"]["labels"], data["invoices"]["data"], strict=True)) == {
        "draft": 1,
        "finalized": 2,
    }
    assert data["payments"] == {"succeeded": 1, "failed": 1}
    mrr = re.search(r'data-testid="mrr">(.*?)</dd>', html).group(1)  # type: ignore[union-attr]
    plan_amount = SubscriptionFactory._meta.model.objects.first().lines.first().plan.amount  # type: ignore[union-attr]
    assert mrr == "$" + f"{int(Decimal(plan_amount) * 2):,}".replace(",", ".")
    churn = re.search(r'data-testid="churn">(.*?)</dd>', html).group(1)  # type: ignore[union-attr]
    assert churn == "33.3% (1 cancelled, 2 active)"
    assert "/static/billing/vendor/chart-4.5.1.umd.min.js" in html


def _dashboard_data(html: str) -> dict:
    found = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html)
    assert found is not None
    return json.loads(found.group(1), parse_float=D)


def test_usage_by_meter_sums_each_live_meter_per_month() -> None:
    workspace = make_tenant().workspace
    customer = CustomerFactory(workspace=workspace, reference="acme-1")
    MeterFactory(workspace=workspace, name="API calls", event_name="api_call", aggregation="count")
    MeterFactory(workspace=workspace, name="Storage", event_name="storage", field="gb")
    test_workspace = make_tenant(test_mode=True).workspace
    MeterFactory(workspace=test_workspace, test_mode=True, name="Hidden", event_name="api_call")
    this_month = datetime.combine(month_start(timezone.now().date()), time(1), UTC)
    two_ago = datetime.combine(month_start(this_month.date(), -2), time(1), UTC)
    long_ago = datetime.combine(month_start(this_month.date(), -7), time(1), UTC)

    def event(name: str, key: str, at: datetime, **properties: object) -> None:
        UsageEventFactory(
            workspace=workspace, event_name=name, customer_key=key, timestamp=at,
            properties=properties,
        )  # fmt: skip

    event("api_call", customer.id, this_month)
    event("api_call", "acme-1", this_month)  # the same customer, by its reference
    event("api_call", customer.id, two_ago)
    event("api_call", customer.id, long_ago)  # before the chart's six months
    event("storage", customer.id, this_month, gb="1.5")
    event("storage", "acme-1", this_month, gb=D("2.25"))
    UsageEventFactory(  # test mode's: not in the live figures
        workspace=workspace, test_mode=True, customer_key=customer.id, timestamp=this_month
    )

    html = _client(is_staff=True).get("/admin/dashboard/").content.decode()

    usage = _dashboard_data(html)["usage"]
    months = [f"{month_start(this_month.date(), -back):%Y-%m}" for back in range(5, -1, -1)]
    assert usage["labels"] == months
    # Exact: sent as text, as revenue is.
    assert all(isinstance(value, str) for row in usage["series"] for value in row["data"])
    assert usage["series"][1]["data"][-1] == "3.75"
    by_meter = {row["label"]: [D(value) for value in row["data"]] for row in usage["series"]}
    assert by_meter == {
        f"API calls ({workspace.name})": [D(0), D(0), D(0), D(1), D(0), D(2)],
        f"Storage ({workspace.name})": [D(0), D(0), D(0), D(0), D(0), D("3.75")],
    }
    assert 'id="chart-usage"' in html


@pytest.mark.postgresql
def test_revenue_keeps_every_digit_of_a_large_total() -> None:
    workspace = make_tenant().workspace
    invoice = FinalizedInvoiceFactory(workspace=workspace)
    # 17 digits: a float would send 1e17.
    Invoice.objects.filter(pk=invoice.pk).update(total=D("99999999999999999"))

    html = _client(is_staff=True).get("/admin/dashboard/").content.decode()

    [series] = _dashboard_data(html)["revenue"]["series"]
    assert [D(value) for value in series["data"]] == [D("99999999999999999")]
    # The tooltip reads it as money in its currency, not as the column stores it.
    assert series["shown"] == ["$99.999.999.999.999.999"]


def _line(subscription: Any, **plan: Any) -> None:
    SubscriptionLine.objects.create(
        subscription=subscription,
        plan=PlanFactory(workspace=subscription.workspace, **plan),
        quantity=D(3),
    )


def test_mrr_counts_the_fixed_recurring_amounts_normalised_to_a_month() -> None:
    workspace = make_tenant().workspace
    subscription = SubscriptionFactory(workspace=workspace)  # one monthly 10,000 plan
    _line(subscription, usage_scheme="metered", amount=D(500))  # usage: no MRR
    _line(subscription, frequency="weekly", amount=D(2))  # 3 × 2 × 52 / 12 = 26
    _line(subscription, frequency="annual", amount=D(4))  # 3 × 4 / 12 = 1
    usd = SubscriptionFactory(workspace=workspace, currency_id="USD")
    usd.lines.all().delete()
    _line(usd, frequency="quarterly", currency_id="USD", amount=D("0.01"))  # 0.03 / 3

    mrr = monthly_recurring_revenue()

    assert mrr == {"CLP": D(10000 + 26 + 1), "USD": D("0.01")}
    html = _client(is_staff=True).get("/admin/dashboard/").content.decode()
    shown = re.search(r'data-testid="mrr">(.*?)</dd>', html).group(1)  # type: ignore[union-attr]
    assert shown.startswith("$10.027 · ")
