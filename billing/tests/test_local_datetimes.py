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


def _event_day(tenant, timestamp: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """How many of one event sent at `timestamp` count on 3 and on 4 January, there."""
    customer = CustomerFactory(workspace=tenant.workspace)
    meter = meter_of(tenant)
    response = tenant.client.post("/events/", {"event_id": "e", "event_name": "api_call",
                                               "customer": customer.id, "timestamp": timestamp},
                                  format="json")  # fmt: skip
    assert response.status_code == 202, response.json()

    def on(start: str, end: str) -> int:
        query = {"customer": customer.id, "start": start, "end": end}
        return int(tenant.client.get(f"/meters/{meter.id}/usage/", query).json()["value"])

    return on("2026-01-03", "2026-01-04"), on("2026-01-04", "2026-01-05")


@pytest.mark.parametrize(
    ("sent", "days"),
    [
        ("2026-01-03T23:00:00", (1, 0)),  # 02:00 on the 4th in UTC
        ("2026-01-03 23:00", (1, 0)),
        ("2026-01-04T01:00:00Z", (1, 0)),
        ("2026-01-04T04:00:00+01:00", (0, 1)),
        ("2026-01-04", (0, 1)),  # its midnight there
    ],
)
def test_an_event_s_timestamp(santiago, sent, days) -> None:  # type: ignore[no-untyped-def]
    assert _event_day(santiago, sent) == days


def test_a_bulk_reads_naive_timestamps_there(santiago) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=santiago.workspace)
    meter = meter_of(santiago)
    events = [
        {"event_id": f"e{n}", "event_name": "api_call", "customer": customer.id,
         "timestamp": timestamp, "properties": {}}
        for n, timestamp in enumerate(["2026-01-03T23:00:00", "2026-01-04T01:00:00Z"])
    ]  # fmt: skip

    body = post_bulk(santiago, events).json()

    assert body["accepted"] == 2, body
    query = {"customer": customer.id, "start": "2026-01-03", "end": "2026-01-04"}
    assert santiago.client.get(f"/meters/{meter.id}/usage/", query).json()["value"] == 2


# Each spelling means the same moment, or the same 400, in a body and in a filter.
SPELLINGS = [
    ("2026-03-01T10:00:00", "2026-03-01T13:00:00Z"),
    ("2026-03-01 10:00", "2026-03-01T13:00:00Z"),
    ("2026-03-01T10:00:00.5-03:00", "2026-03-01T13:00:00.500000Z"),
    ("2026-03-01", "2026-03-01T03:00:00Z"),
    ("2026-02-30T10:00:00", None),
    ("10:00", None),
    ("2026-03-01T10:00:00+24:00", None),
    ("", None),
]


@pytest.mark.parametrize(("sent", "shown"), SPELLINGS)
def test_a_payment_link_s_expires_at(santiago, sent, shown) -> None:  # type: ignore[no-untyped-def]
    # Ten years on, so that the link has not expired: March is UTC-3 there then too.
    sent, shown = sent.replace("2026", "2036"), shown and shown.replace("2026", "2036")
    body = {"amount": 1000, "currency": "CLP", "description": "x", "expires_at": sent}

    response = santiago.client.post("/payment_links/links/", body, format="json")

    if shown is None:
        assert response.status_code == 400, response.json()
        assert list(response.json()) == ["expires_at"]
    else:
        assert response.status_code == 201, response.json()
        assert response.json()["expires_at"] == shown


@pytest.mark.parametrize(("sent", "shown"), SPELLINGS)
def test_an_event_s_timestamp_spellings(santiago, sent, shown) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=santiago.workspace)
    body = {"event_id": "e", "event_name": "api_call", "customer": customer.id, "timestamp": sent}

    response = santiago.client.post("/events/", body, format="json")

    assert response.status_code == (400 if shown is None else 202), response.json()
    if shown is None:
        assert list(response.json()) == ["timestamp"]


@pytest.mark.parametrize(("sent", "shown"), SPELLINGS)
def test_a_created_filter_s_spellings(santiago, sent, shown) -> None:  # type: ignore[no-untyped-def]
    response = santiago.client.get("/customers/", {"created__gte": sent})

    if sent == "":
        assert response.status_code == 200  # an empty filter filters nothing
    else:
        assert response.status_code == (400 if shown is None else 200), response.json()


def test_a_day_whose_midnight_the_clocks_skip_starts_at_its_first_moment(santiago) -> None:  # type: ignore[no-untyped-def]
    # Chile moves its clocks from 00:00 to 01:00 on 7 September 2036.
    body = {"amount": 1000, "currency": "CLP", "description": "x", "expires_at": "2036-09-07"}

    response = santiago.client.post("/payment_links/links/", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["expires_at"] == "2036-09-07T04:00:00Z"


@pytest.mark.parametrize("sent", [5, 1.5, True, ["2026-01-03"], {"at": "2026-01-03"}])
def test_a_datetime_sent_as_another_json_type_is_a_400(santiago, sent) -> None:  # type: ignore[no-untyped-def]
    meter = meter_of(santiago)
    customer = CustomerFactory(workspace=santiago.workspace)
    body = {"meter": meter.id, "customer": customer.id, "start": sent, "end": "2026-01-04"}

    response = santiago.client.post("/events/usage/", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["start"]
