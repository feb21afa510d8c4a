"""Usage queries: every aggregation in SQL, filters, grouping, windows and tenants."""

from decimal import Decimal

import pytest

from customers.tests.factories import CustomerFactory
from metering.tests.helpers import meter_of, post_bulk, usage

pytestmark = pytest.mark.django_db


def _events(customer: str) -> list[dict]:
    rows = [
        # (id, day, region, tokens, user)
        ("a", 3, "us", 10, "u1"),
        ("b", 3, "eu", "2.5", "u2"),
        ("c", 5, "us", 7, "u1"),
        ("d", 5, "ap", 100, "u3"),
        ("e", 9, "us", "not a number", "u2"),
        ("f", 9, "us", 4, "u1"),
    ]
    return [
        {"event_id": event_id, "event_name": "api_call", "customer": customer,
         "timestamp": f"2026-01-{day:02d}T15:00:00Z",
         "properties": {"region": region, "tokens": tokens, "user": user}}
        for event_id, day, region, tokens, user in rows
    ]  # fmt: skip


@pytest.fixture
def customer(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    post_bulk(tenant, _events(customer.id))
    # Noise: another event name, another customer, outside the window.
    post_bulk(tenant, [
        {"event_id": "x1", "event_name": "login", "customer": customer.id,
         "timestamp": "2026-01-05T00:00:00Z", "properties": {"tokens": 1000}},
        {"event_id": "x2", "event_name": "api_call", "customer": "cus_other",
         "timestamp": "2026-01-05T00:00:00Z", "properties": {"tokens": 1000}},
        {"event_id": "x3", "event_name": "api_call", "customer": customer.id,
         "timestamp": "2026-02-01T00:00:00Z", "properties": {"tokens": 1000}},
    ])  # fmt: skip
    return customer


@pytest.mark.parametrize(
    ("aggregation", "field", "filters", "expected"),
    [
        ("count", "", [], Decimal(6)),
        ("sum", "tokens", [], Decimal("123.5")),
        ("max", "tokens", [], Decimal(100)),
        ("unique_count", "user", [], Decimal(3)),
        ("latest", "tokens", [], Decimal(4)),
        ("sum", "tokens", [{"key": "region", "values": ["us"]}], Decimal(21)),
        ("count", "", [{"key": "region", "values": ["us", "eu"]}], Decimal(5)),
        ("max", "tokens", [{"key": "region", "values": ["eu"]}], Decimal("2.5")),
    ],
)
def test_each_aggregation(tenant, customer, aggregation, field, filters, expected):
    meter = meter_of(tenant, aggregation=aggregation, field=field, filters=filters)
    assert usage(tenant, meter, customer.id) == expected


def test_the_window_is_half_open(tenant, customer):
    meter = meter_of(tenant)
    assert usage(tenant, meter, customer.id, start="2026-01-05T15:00:00Z",
                 end="2026-01-09T15:00:00Z") == 2  # fmt: skip


def test_grouped_by_day_and_by_property(tenant, customer):
    meter = meter_of(tenant, aggregation="sum", field="tokens")
    by_day = tenant.client.get(f"/meters/{meter.id}/usage/", {
        "customer": customer.id, "start": "2026-01-01T00:00:00Z",
        "end": "2026-02-01T00:00:00Z", "group_by": "day"}).json()  # fmt: skip
    assert [(g["group"], Decimal(str(g["value"]))) for g in by_day["groups"]] == [
        ("2026-01-03", Decimal("12.5")), ("2026-01-05", Decimal(107)), ("2026-01-09", Decimal(4))
    ]  # fmt: skip
    assert Decimal(str(by_day["value"])) == Decimal("123.5")
    by_region = tenant.client.post("/events/usage/", {
        "meter": meter.id, "customer": customer.id, "start": "2026-01-01T00:00:00Z",
        "end": "2026-02-01T00:00:00Z", "group_by": "property", "property": "region"},
        format="json").json()  # fmt: skip
    assert [(g["group"], Decimal(str(g["value"]))) for g in by_region["groups"]] == [
        ("ap", Decimal(100)),
        ("eu", Decimal("2.5")),
        ("us", Decimal(21)),
    ]


def test_days_are_the_workspace_s(tenant):
    tenant.workspace.timezone = "America/Santiago"  # UTC-3 in January
    tenant.workspace.save()
    meter = meter_of(tenant)
    post_bulk(tenant, [{"event_id": "late-night", "event_name": "api_call", "customer": "c",
                        "timestamp": "2026-01-04T02:00:00Z"}])  # fmt: skip
    body = tenant.client.get(f"/meters/{meter.id}/usage/", {
        "customer": "c", "start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z",
        "group_by": "day"}).json()  # fmt: skip
    assert [g["group"] for g in body["groups"]] == ["2026-01-03"]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"end": "2025-01-01T00:00:00Z"}, {"end": ["Must be after start."]}),
        ({"group_by": "property"}, {"property": ["Required to group by property."]}),
        ({"group_by": "hour"}, {"group_by": ['"hour" is not a valid choice.']}),
        ({"start": "yesterday"}, None),
    ],
)
def test_bad_queries_are_400(tenant, params, errors):
    meter = meter_of(tenant)
    query = {"customer": "c", "start": "2026-01-01T00:00:00Z",
             "end": "2026-02-01T00:00:00Z", **params}  # fmt: skip
    response = tenant.client.get(f"/meters/{meter.id}/usage/", query)
    assert response.status_code == 400
    if errors is not None:
        assert response.json() == errors


def test_an_unknown_meter_is_400_on_events_usage(tenant, other_tenant):
    foreign = meter_of(other_tenant)
    response = tenant.client.post("/events/usage/", {
        "meter": foreign.id, "customer": "c", "start": "2026-01-01T00:00:00Z",
        "end": "2026-02-01T00:00:00Z"}, format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"meter": [f"No meter {foreign.id} in this workspace."]}


def test_another_tenant_s_events_never_count(tenant, other_tenant, customer):
    meter = meter_of(other_tenant)
    assert usage(other_tenant, meter, customer.id) == 0


def test_a_value_beyond_what_billing_holds_is_a_409_never_a_500(tenant):
    meter = meter_of(tenant, aggregation="sum", field="tokens")
    # Text holding a number counts whatever its size.
    post_bulk(tenant, [
        {"event_id": "big", "event_name": "api_call", "customer": "c",
         "timestamp": "2026-01-10T12:00:00Z", "properties": {"tokens": "9" * 29}},
    ])  # fmt: skip
    window = {"customer": "c", "start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}

    answers = [
        tenant.client.get(f"/meters/{meter.id}/usage/", window),
        tenant.client.get(f"/meters/{meter.id}/usage/", {**window, "group_by": "day"}),
        tenant.client.post("/events/usage/", {**window, "meter": meter.id}, format="json"),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(409, "usage_out_of_range")] * 3
    assert "10^24" in answers[0].json()["detail"]


def test_unique_count_counts_numbers_by_value_and_strings_as_written(tenant):
    meter = meter_of(tenant, aggregation="unique_count", field="user")
    users = ["1", "1.0", "1e0", "1.5", "1.50", '"1.5"', "7", '"7"', '"007"', '"1.0"']
    events = ",".join(
        f'{{"event_id": "u{n}", "event_name": "api_call", "customer": "c", '
        f'"timestamp": "2026-01-10T12:00:00Z", "properties": {{"user": {user}}}}}'
        for n, user in enumerate(users)
    )
    # Raw JSON: the numbers reach the server as written, 1.0 and 1.50 included.
    response = tenant.client.post(
        "/events/bulk/", f'{{"events": [{events}]}}', content_type="application/json"
    )
    assert response.json()["accepted"] == len(users)

    # 1 = 1.0 = 1e0, 1.5 = 1.50 = "1.5", 7 = "7"; "007" and "1.0" are strings of their own.
    assert usage(tenant, meter, "c") == 5
