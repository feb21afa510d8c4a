"""A datetime sent without its UTC offset is read in the workspace's timezone, whatever
field or filter takes it; one with its offset is that moment; answers show UTC."""

import pytest

from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from metering.tests.helpers import meter_of, post_bulk
from subscriptions.models import SubscriptionLine
from subscriptions.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def santiago(tenant):  # type: ignore[no-untyped-def]
    tenant.workspace.timezone = "America/Santiago"  # UTC-3 in January and March 2026
    tenant.workspace.save()
    return tenant


def _metered_line(tenant) -> SubscriptionLine:  # type: ignore[no-untyped-def]
    subscription = SubscriptionFactory(workspace=tenant.workspace)
    plan = PlanFactory(workspace=tenant.workspace, usage_scheme="metered")
    return SubscriptionLine.objects.create(subscription=subscription, plan=plan, position=1)


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("2026-03-01T10:00:00", "2026-03-01T13:00:00Z"),
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00+01:00", "2026-03-01T09:00:00Z"),
    ],
)
def test_a_usage_record_s_date_time(santiago, sent, shown) -> None:  # type: ignore[no-untyped-def]
    line = _metered_line(santiago)

    response = santiago.client.post(
        "/usages/", {"subscription_line": line.id, "quantity": 1, "date_time": sent}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["date_time"] == shown


def _late_night_event(tenant) -> str:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=tenant.workspace)
    post_bulk(tenant, [{"event_id": "late", "event_name": "api_call", "customer": customer.id,
                        "timestamp": "2026-01-04T02:00:00Z"}])  # fmt: skip  # 3 Jan, 23:00 there
    return customer.id


def test_usage_query_bounds_of_a_day_are_its_midnight_there(santiago) -> None:  # type: ignore[no-untyped-def]
    customer = _late_night_event(santiago)
    meter = meter_of(santiago)
    bounds = {"customer": customer, "start": "2026-01-03", "end": "2026-01-04"}

    by_get = santiago.client.get(f"/meters/{meter.id}/usage/", bounds)
    by_post = santiago.client.post("/events/usage/", {**bounds, "meter": meter.id}, format="json")

    for response in (by_get, by_post):
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["value"], body["start"], body["end"]) == (
            1, "2026-01-03T03:00:00Z", "2026-01-04T03:00:00Z"
        )  # fmt: skip


def test_naive_usage_query_bounds(santiago) -> None:  # type: ignore[no-untyped-def]
    customer = _late_night_event(santiago)
    meter = meter_of(santiago)

    body = santiago.client.get(f"/meters/{meter.id}/usage/", {
        "customer": customer, "start": "2026-01-03T23:00:00", "end": "2026-01-03T23:00:01"
    }).json()  # fmt: skip

    assert body["value"] == 1


def test_list_filters_read_naive_bounds_there(santiago) -> None:  # type: ignore[no-untyped-def]
    line = _metered_line(santiago)
    santiago.client.post(
        "/usages/",
        {"subscription_line": line.id, "quantity": 1, "date_time": "2026-03-01T13:00:00Z"},
        format="json",
    )

    def listed(**bounds: str) -> int:
        response = santiago.client.get("/usages/", bounds)
        assert response.status_code == 200, response.json()
        return int(response.json()["count"])

    assert listed(date_time__gte="2026-03-01T10:00:00") == 1
    assert listed(date_time__gte="2026-03-01T10:00:01") == 0
    assert listed(date_time__lt="2026-03-02", date_time__gte="2026-03-01") == 1
    assert listed(date_time__gte="2026-03-01T10:00:01Z") == 1
