"""Piriod's /usages/: usage records on metered subscription lines."""

from decimal import Decimal

import pytest

from catalog.tests.factories import PlanFactory
from metering.models import UsageRecord
from metering.tests.helpers import meter_of
from subscriptions.models import SubscriptionLine
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def _metered_line(tenant, **plan_fields) -> SubscriptionLine:
    subscription = SubscriptionFactory(workspace=tenant.workspace)
    plan = PlanFactory(workspace=tenant.workspace, usage_scheme="metered", **plan_fields)
    return SubscriptionLine.objects.create(subscription=subscription, plan=plan, position=1)


def test_record_usage_and_read_it_back(tenant):
    line = _metered_line(tenant)
    response = tenant.client.post(
        "/usages/",
        {"subscription_line": line.id, "quantity": 2.5, "date_time": "2026-01-20T10:00:00Z",
         "creation_scheme": "automatic"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("usa_")
    assert (body["subscription"], body["plan"], body["subscription_line"]) == (
        line.subscription_id, line.plan_id, line.id
    )  # fmt: skip
    assert Decimal(str(body["quantity"])) == Decimal("2.5")
    assert tenant.client.get(f"/usages/{body['id']}/").json() == body
    listed = tenant.client.get("/usages/", {"subscription": line.subscription_id}).json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]


def test_a_licensed_line_or_a_meter_s_line_takes_no_records(tenant):
    licensed = SubscriptionFactory(workspace=tenant.workspace).lines.get()
    response = tenant.client.post(
        "/usages/", {"subscription_line": licensed.id, "quantity": 1}, format="json"
    )
    assert response.status_code == 400
    assert "is licensed" in response.json()["subscription_line"][0]
    by_meter = _metered_line(tenant, meter_id=meter_of(tenant).id)
    response = tenant.client.post(
        "/usages/", {"subscription_line": by_meter.id, "quantity": 1}, format="json"
    )
    assert response.status_code == 400
    assert "send its events to /events/" in response.json()["subscription_line"][0]


def test_another_tenant_s_line_is_a_400(tenant, other_tenant):
    foreign = _metered_line(other_tenant)
    response = tenant.client.post(
        "/usages/", {"subscription_line": foreign.id, "quantity": 1}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["subscription_line"]


def test_filtering_by_another_tenant_s_line_is_a_404_as_an_unknown_one(tenant, other_tenant):
    own = _metered_line(tenant)
    foreign = _metered_line(other_tenant)

    answers = [
        tenant.client.get("/usages/", {"subscription_line": line}).status_code
        for line in (foreign.id, foreign.id + 1000, "abc", own.id)
    ]

    assert answers == [404, 404, 404, 200]


@pytest.mark.parametrize("quantity", [-1, "abc", None, 10**24])
def test_bad_quantities_are_400(tenant, quantity):
    line = _metered_line(tenant)
    response = tenant.client.post(
        "/usages/", {"subscription_line": line.id, "quantity": quantity}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]


def test_records_are_filtered_by_date_time_either_side_inclusive_or_not(tenant):
    line = _metered_line(tenant)
    stamps = ["2026-01-20T10:00:00Z", "2026-01-20T11:00:00Z", "2026-01-20T12:00:00Z"]
    for stamp in stamps:
        UsageRecord.objects.create(
            workspace=tenant.workspace, test_mode=tenant.test_mode,
            subscription_id=line.subscription_id, subscription_line=line, plan=line.plan,
            quantity=1, date_time=stamp,
        )  # fmt: skip

    def listed(**query):
        results = tenant.client.get("/usages/", query).json()["results"]
        return sorted(r["date_time"] for r in results)

    middle = stamps[1]
    assert listed(date_time__lte=middle) == stamps[:2]
    assert listed(date_time__lt=middle) == stamps[:1]
    assert listed(date_time__gte=middle) == stamps[1:]
    assert listed(date_time__gt=middle) == stamps[2:]


@pytest.mark.parametrize(
    ("date_time", "status", "field"),
    [
        ("2026-01-20T10:00:00Z", "cancelled", "subscription_line"),
        ("2026-01-20T10:00:00Z", "finalized", "subscription_line"),
        ("2099-01-01T00:00:00Z", "active", "date_time"),
        ("2025-12-31T10:00:00Z", "active", "date_time"),  # before its 2026-01-01 start
    ],
)
def test_a_record_no_invoice_would_bill_is_a_400_on_its_field(tenant, date_time, status, field):
    line = _metered_line(tenant)
    line.subscription.__class__.objects.filter(pk=line.subscription_id).update(status=status)
    response = tenant.client.post(
        "/usages/",
        {"subscription_line": line.id, "quantity": 1, "date_time": date_time},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [field]
    assert not UsageRecord.objects.filter(subscription_line=line).exists()
