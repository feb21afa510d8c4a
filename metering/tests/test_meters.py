"""Meters and features through the API, and plans priced by a meter."""

import pytest

from catalog.tests.factories import ProductFactory
from metering.services import meters as meter_services

pytestmark = pytest.mark.django_db


def _meter(tenant, **fields):
    body = {"name": "API calls", "event_name": "api_call", "aggregation": "count", **fields}
    return tenant.client.post("/meters/", body, format="json")


def test_create_a_meter_with_filters(tenant):
    response = _meter(
        tenant,
        aggregation="sum",
        field="tokens",
        filters=[{"key": "region", "values": ["us", "eu"]}],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("met_")
    assert (body["aggregation"], body["field"], body["filters"]) == (
        "sum", "tokens", [{"key": "region", "values": ["us", "eu"]}]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"aggregation": "sum"}, {"field": ["Required: sum aggregates a property."]}),
        ({"aggregation": "avg"}, {"aggregation": ['"avg" is not a valid choice.']}),
        ({"filters": [{"key": "a", "values": []}]}, None),
        ({"filters": [{"key": "a", "values": ["x"]}, {"key": "a", "values": ["y"]}]},
         {"filters": ["Each key at most once."]}),
        # No event may bear a usage record's name (POST /events/ refuses it): such a meter
        # would count nothing, ever.
        ({"event_name": "usage_record:pla_1"}, {"event_name": [
            "Event names starting with 'usage_record:' are reserved for the usage records "
            "of /usages/."
        ]}),
    ],
)  # fmt: skip
def test_a_meter_refuses_bad_input(tenant, fields, errors):
    response = _meter(tenant, **fields)
    assert response.status_code == 400
    if errors is not None:
        assert response.json() == errors


def test_a_metered_feature_needs_a_meter_and_keys_are_unique(tenant):
    meter = _meter(tenant).json()["id"]
    feature = {"key": "api_calls", "name": "API calls", "feature_type": "metered"}
    assert tenant.client.post("/features/", feature, format="json").json() == {
        "meter": ["A metered feature needs a meter."]
    }
    created = tenant.client.post("/features/", {**feature, "meter": meter}, format="json")
    assert created.status_code == 201
    assert created.json()["meter"] == meter
    again = tenant.client.post("/features/", {**feature, "meter": meter}, format="json")
    assert again.json() == {"key": ["A feature with this key exists."]}
    static = {"key": "seats", "name": "Seats", "feature_type": "static", "meter": meter}
    assert tenant.client.post("/features/", static, format="json").json() == {
        "meter": ["Only metered features have a meter."]
    }


def test_a_plan_names_a_meter_of_its_workspace(tenant, other_tenant):
    meter = _meter(tenant).json()["id"]
    foreign = _meter(other_tenant).json()["id"]
    product = ProductFactory(workspace=tenant.workspace)
    plan = {
        "product": product.id, "name": "Calls", "currency": "CLP", "usage_scheme": "metered",
        "tiers_mode": "range", "tiers": [{"up_to": 1000, "amount": "0"},
                                         {"up_to": None, "amount": "2"}],
    }  # fmt: skip
    created = tenant.client.post("/plans/", {**plan, "meter": meter}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["meter"] == meter
    refused = tenant.client.post("/plans/", {**plan, "meter": foreign}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"meter": [f"No meter {foreign} in this workspace."]}


def test_a_meter_in_use_keeps_what_it_counts_and_is_not_deleted(tenant):
    meter = _meter(tenant).json()["id"]
    product = ProductFactory(workspace=tenant.workspace)
    tenant.client.post(
        "/plans/",
        {"product": product.id, "name": "Calls", "currency": "CLP", "amount": "1",
         "usage_scheme": "metered", "meter": meter},
        format="json",
    )  # fmt: skip
    renamed = tenant.client.put(f"/meters/{meter}/", {"name": "Calls"}, format="json")
    assert renamed.status_code == 200
    changed = tenant.client.put(f"/meters/{meter}/", {"event_name": "other"}, format="json")
    assert changed.status_code == 409
    assert changed.json()["code"] == "meter_in_use"
    deleted = tenant.client.delete(f"/meters/{meter}/")
    assert deleted.status_code == 409
    assert deleted.json()["code"] == "meter_in_use"


def test_a_counting_meter_in_use_may_change_the_field_it_does_not_read(tenant):
    counting = _meter(tenant).json()["id"]
    summing = _meter(tenant, event_name="tokens_used", aggregation="sum", field="tokens")
    product = ProductFactory(workspace=tenant.workspace)
    for meter in (counting, summing.json()["id"]):
        tenant.client.post(
            "/plans/",
            {"product": product.id, "name": "Calls", "currency": "CLP", "amount": "1",
             "usage_scheme": "metered", "meter": meter},
            format="json",
        )  # fmt: skip

    ignored = tenant.client.put(f"/meters/{counting}/", {"field": "tokens"}, format="json")
    read = tenant.client.put(f"/meters/{summing.json()['id']}/", {"field": "words"}, format="json")

    assert ignored.status_code == 200, ignored.json()
    assert ignored.json()["field"] == "tokens"
    assert (read.status_code, read.json()["code"]) == (409, "meter_in_use")


@pytest.mark.postgresql
def test_a_meter_in_use_takes_its_filters_back_in_another_order(tenant):
    filters = [{"key": "region", "values": ["us", "eu"]}, {"key": "plan", "values": ["pro"]}]
    meter = _meter(tenant, filters=filters).json()["id"]
    product = ProductFactory(workspace=tenant.workspace)
    tenant.client.post(
        "/plans/",
        {"product": product.id, "name": "Calls", "currency": "CLP", "amount": "1",
         "usage_scheme": "metered", "meter": meter},
        format="json",
    )  # fmt: skip
    reordered = [{"key": "plan", "values": ["pro"]}, {"key": "region", "values": ["eu", "us"]}]

    same = tenant.client.put(f"/meters/{meter}/", {"filters": reordered}, format="json")
    narrowed = [{"key": "region", "values": ["eu"]}, {"key": "plan", "values": ["pro"]}]
    changed = tenant.client.put(f"/meters/{meter}/", {"filters": narrowed}, format="json")

    assert same.status_code == 200, same.json()
    assert same.json()["filters"] == reordered
    assert changed.status_code == 409
    assert changed.json()["code"] == "meter_in_use"


def test_a_key_taken_by_a_concurrent_create_is_a_400_on_key(tenant, monkeypatch):
    # Two concurrent creates both pass the look-up; the unique constraint decides.
    feature = {"key": "seats", "name": "Seats", "feature_type": "boolean"}
    assert tenant.client.post("/features/", feature, format="json").status_code == 201
    monkeypatch.setattr(meter_services, "_duplicate_key", lambda feature: False)

    again = tenant.client.post("/features/", feature, format="json")

    assert again.status_code == 400
    assert again.json() == {"key": ["A feature with this key exists."]}


def test_an_unknown_field_in_a_filter_is_a_400_naming_it(tenant):
    response = _meter(tenant, filters=[{"key": "a", "values": ["x"], "foo": 1}])
    assert response.status_code == 400
    assert "foo" in str(response.json())
    assert "Unknown field." in str(response.json())


def test_a_meter_cannot_be_renamed_into_the_usage_records_names(tenant):
    meter = _meter(tenant).json()["id"]
    response = tenant.client.patch(
        f"/meters/{meter}/", {"event_name": "usage_record:x"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["event_name"]
    assert tenant.client.get(f"/meters/{meter}/").json()["event_name"] == "api_call"


def test_a_plan_with_a_meter_refuses_a_usage_aggregation_its_meter_does_not_count_by(tenant):
    # A plan with a meter counts by the meter's aggregation; its usage_aggregation only
    # reads Piriod's usage records. One that says otherwise would bill otherwise than asked.
    tokens = _meter(tenant, aggregation="sum", field="tokens").json()["id"]
    seats = _meter(tenant, aggregation="latest", field="seats").json()["id"]
    product = ProductFactory(workspace=tenant.workspace)
    plan = {"product": product.id, "name": "Tokens", "currency": "CLP", "amount": "1",
            "usage_scheme": "metered", "meter": tokens}  # fmt: skip

    refused = tenant.client.post("/plans/", {**plan, "usage_aggregation": "max"}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()) == ["usage_aggregation"]
    assert "sum" in refused.json()["usage_aggregation"][0]

    summed = tenant.client.post("/plans/", {**plan, "usage_aggregation": "sum"}, format="json")
    assert summed.status_code == 201, summed.json()
    latest = {**plan, "meter": seats, "usage_aggregation": "last_record"}
    assert tenant.client.post("/plans/", latest, format="json").status_code == 201
    # Left out, it is not asked for: the meter counts, whatever its aggregation.
    assert tenant.client.post("/plans/", {**plan, "meter": seats}, format="json").status_code == 201

    plan_id = summed.json()["id"]
    changed = tenant.client.patch(
        f"/plans/{plan_id}/", {"usage_aggregation": "last_record"}, format="json"
    )
    assert changed.status_code == 400
    assert list(changed.json()) == ["usage_aggregation"]
    assert tenant.client.get(f"/plans/{plan_id}/").json()["usage_aggregation"] == "sum"
