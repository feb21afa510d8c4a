"""The admin dashboard: staff only, and its figures are the live-mode data's."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import make_tenant
from tests.factories import (
    FinalizedInvoiceFactory,
    InvoiceFactory,
    PaymentFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _client(**flags: bool) -> Client:
    client = Client()
    client.force_login(UserFactory(**flags))
    return client


def test_only_staff_see_the_dashboard() -> None:
    assert _client().get("/admin/dashboard/").status_code == 302  # to the admin's login
    assert _client(is_staff=True).get("/admin/dashboard/").status_code == 200


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
    assert data["revenue"]["series"] == [{"label": "CLP", "data": [2380.0]}]
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
