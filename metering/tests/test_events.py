"""Ingesting events: one and in bulk, exactly once (G5), unknown customers, bad input."""

import gc
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import InvoiceFactory
from metering.tests.helpers import meter_of, post_bulk, usage
from subscriptions import services
from subscriptions.models import BilledPeriod

pytestmark = pytest.mark.django_db


def _event(n: int, customer: str, **fields):
    return {"event_id": f"e{n}", "event_name": "api_call", "customer": customer,
            "timestamp": "2026-01-10T12:00:00Z", "properties": {"tokens": n}, **fields}  # fmt: skip


def _stored(tenant) -> int:
    # Django does not flush this table after transactional tests: count the tenant's rows.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM metering_event WHERE workspace_id = %s", [tenant.workspace.id]
        )
        return cursor.fetchone()[0]


def test_one_event_then_its_duplicate(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    first = tenant.client.post("/events/", _event(1, customer.id), format="json")
    assert first.status_code == 202, first.json()
    assert first.json()["results"][0]["status"] == "accepted"
    assert first.json()["results"][0]["customer_found"] is True
    again = tenant.client.post("/events/", _event(1, customer.id, timestamp="2026-01-11T00:00:00Z"),
                               format="json")  # fmt: skip
    assert again.status_code == 202
    assert again.json()["results"][0]["status"] == "duplicate"
    assert _stored(tenant) == 1


def test_a_single_event_keeps_an_exact_decimal_property(tenant):
    # The single-event route parses fractions as Decimals; they are stored exactly.
    meter = meter_of(tenant, aggregation="sum", field="tokens")
    for n, tokens in enumerate(["12345678901234567.89", "0.11"]):
        body = (
            f'{{"event_id": "d{n}", "event_name": "api_call", "customer": "c", '
            f'"timestamp": "2026-01-10T12:00:00Z", "properties": {{"tokens": {tokens}}}}}'
        )
        response = tenant.client.post("/events/", body, content_type="application/json")
        assert response.status_code == 202, response.content
    assert usage(tenant, meter, "c") == Decimal("12345678901234568.00")


def test_a_bulk_answers_each_event(tenant):
    customer = CustomerFactory(workspace=tenant.workspace, reference="crm-7")
    events = [
        _event(1, customer.id),
        _event(2, "crm-7"),
        _event(1, customer.id),  # again in the same batch
        {"event_id": "e3", "event_name": "api_call"},  # no customer
        _event(4, customer.id, timestamp="2099-01-01T00:00:00Z"),
        _event(5, customer.id, timestamp="2026-01-10 noon"),  # no time
        _event(6, "nobody-yet"),
        _event(7, customer.id, colour="blue"),
        "not an object",
    ]
    response = post_bulk(tenant, events)
    assert response.status_code == 202, response.json()
    body = response.json()
    statuses = [(r["event_id"], r["status"]) for r in body["results"]]
    assert statuses == [
        ("e1", "accepted"), ("e2", "accepted"), ("e1", "duplicate"), ("e3", "rejected"),
        ("e4", "rejected"), ("e5", "rejected"), ("e6", "accepted"), ("e7", "rejected"),
        (None, "rejected"),
    ]  # fmt: skip
    reasons = [r["reason"] for r in body["results"] if r["status"] == "rejected"]
    assert reasons == [
        "customer: Required: a non-empty string.",
        "timestamp: 2099-01-01T00:00:00Z is too far in the future.",
        "timestamp: Not a date and time: ISO 8601, e.g. 2026-03-01T10:00:00Z; without an "
        "offset, the workspace's time.",
        "colour: Unknown field.",
        "non_field_errors: An event is a JSON object.",
    ]
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (3, 1, 5)
    assert body["unknown_customers"] == ["nobody-yet"]
    assert _stored(tenant) == 3


def test_events_of_an_unknown_customer_count_once_it_exists(tenant):
    meter = meter_of(tenant)
    post_bulk(tenant, [_event(n, "crm-42") for n in range(3)])
    customer = CustomerFactory(workspace=tenant.workspace, reference="crm-42")
    post_bulk(tenant, [_event(n, customer.id) for n in range(3, 5)])
    assert usage(tenant, meter, customer.id) == 5
    assert usage(tenant, meter, "crm-42") == 5


def test_an_event_id_is_unique_per_tenant_not_across_tenants(tenant, other_tenant):
    post_bulk(tenant, [_event(1, "c")])
    assert post_bulk(other_tenant, [_event(1, "c")]).json()["accepted"] == 1
    assert post_bulk(tenant, [_event(1, "c")]).json()["duplicate"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": "x"}, "events"),
        ({"event": []}, "event"),
        ({"events": [{"event_id": "x"}], "more": 1}, "more"),
        ([], "events"),
    ],
)
def test_a_bulk_body_of_the_wrong_shape_is_a_400(tenant, body, field):
    response = tenant.client.post("/events/bulk/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_bulk_over_the_limit_is_a_400(tenant):
    response = post_bulk(tenant, [_event(n, "c") for n in range(1001)])
    assert response.status_code == 400
    assert response.json() == {"events": ["Send 1 to 1000 events."]}


@pytest.mark.parametrize(
    "raw",
    [b'{"events": [', b'{"events": [{"event_id": "a\\u0000"}]}', b'{"events": ["\\ud800"]}'],
)
def test_unstorable_json_is_a_400(tenant, raw):
    response = tenant.client.post("/events/bulk/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_single_bad_event_is_a_400_on_its_field(tenant):
    response = tenant.client.post("/events/", {"event_id": "x", "event_name": "a"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"customer": ["Required: a non-empty string."]}


def _raw_event(event_id: str, value: str) -> str:
    return (
        f'{{"event_id": "{event_id}", "event_name": "api_call", "customer": "c", '
        f'"timestamp": "2026-01-10T12:00:00Z", "properties": {{"v": {value}, "note": "x"}}}}'
    )


@pytest.mark.parametrize(
    "huge",
    ["18446744073709551616", "9223372036854775808", "-9223372036854775809", "1e300", "1.5e19",
     "99999999999999999999999999999"],
)  # fmt: skip
def test_a_number_beyond_64_bits_is_a_400_alone_and_rejected_in_a_bulk(tenant, huge):
    reason = "A number between -9223372036854775807 and 9223372036854775807 (64 bits)."
    single = tenant.client.post("/events/", _raw_event("h", huge), content_type="application/json")
    assert single.status_code == 400, single.content
    assert single.json() == {"properties": {"v": [reason]}}

    both = f'{{"events": [{_raw_event("h", huge)}, {_raw_event("ok", "12")}]}}'
    bulk = tenant.client.post("/events/bulk/", both, content_type="application/json")

    assert bulk.status_code == 202, bulk.content
    assert [(r["status"], r["reason"]) for r in bulk.json()["results"]] == [
        ("rejected", f"properties.v: {reason}"), ("accepted", ""),
    ]  # fmt: skip
    assert _stored(tenant) == 1


@pytest.mark.parametrize("tiny", ["1e-20000", "-1.5e-16384", "0.5e-16383"])
def test_a_number_with_more_decimals_than_a_store_keeps_is_a_400_not_a_500(tenant, tiny):
    refused = {
        "detail": "JSON parse error - a number has more than 16383 decimal places.",
        "code": "parse_error",
    }
    deep = _raw_event("d", f'{{"x": [{tiny}]}}')
    for path, body in [
        ("/events/", _raw_event("t", tiny)),
        ("/events/", deep),
        ("/events/bulk/", f'{{"events": [{_raw_event("t", tiny)}, {_raw_event("ok", "1")}]}}'),
        ("/customers/", f'{{"name": "A", "country": "CL", "metadata": {{"x": {tiny}}}}}'),
    ]:
        response = tenant.client.post(path, body, content_type="application/json")
        assert (response.status_code, response.json()) == (400, refused), path
    assert _stored(tenant) == 0

    finest = _raw_event("ok", "1e-16383")
    assert (
        tenant.client.post("/events/", finest, content_type="application/json").status_code == 202
    )
    assert _stored(tenant) == 1


def test_an_integer_no_store_can_write_deep_in_the_properties_is_a_400(tenant):
    body = _raw_event("deep", '{"x": 18446744073709551616}')
    response = tenant.client.post("/events/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["properties"]
    assert _stored(tenant) == 0


def test_the_largest_64_bit_numbers_are_counted_exactly(tenant):
    meter = meter_of(tenant, aggregation="sum", field="v")
    largest = "9223372036854775807"
    single = tenant.client.post(
        "/events/", _raw_event("a", largest), content_type="application/json"
    )
    both = f'{{"events": [{_raw_event("b", "-" + largest)}, {_raw_event("c", largest)}]}}'
    bulk = tenant.client.post("/events/bulk/", both, content_type="application/json")
    assert (single.status_code, bulk.status_code, bulk.json()["accepted"]) == (202, 202, 2)
    assert usage(tenant, meter, "c") == Decimal(largest)


def test_a_late_event_is_stored_and_reported(tenant):
    """Usage a subscription's meter counts between its first billed cycle and its latest
    is invoiced (the first cycle follows no period, so usage before it is never billed)."""
    workspace = tenant.workspace
    customer = CustomerFactory(workspace=workspace)
    meter = meter_of(tenant)  # counts api_call
    subscription = subscribe_live(workspace, customer, datetime(2026, 1, 1, 12, tzinfo=UTC), meter)
    BilledPeriod.objects.create(
        subscription=subscription, cycle=2, period_start=date(2026, 2, 1),
        period_end=date(2026, 3, 1), invoice=InvoiceFactory(workspace=workspace, customer=customer),
    )  # fmt: skip
    body = post_bulk(tenant, [
        _event(1, customer.id),  # Jan 10: billed on Feb 1's invoice
        _event(2, customer.id, timestamp="2026-02-20T00:00:00Z"),  # the open period
        _event(3, customer.id, timestamp="2025-12-20T00:00:00Z"),  # before the first cycle
    ]).json()  # fmt: skip
    assert [(r["status"], r["late"]) for r in body["results"]] == [
        ("accepted", True),
        ("accepted", False),
        ("accepted", False),
    ]
    assert body["late"] == 1


def subscribe_live(workspace, customer, at, meter):
    fee = PlanFactory(workspace=workspace, test_mode=False, amount=Decimal(100))
    calls = PlanFactory(workspace=workspace, test_mode=False, amount=Decimal(1),
                        usage_scheme="metered", meter_id=meter.id)  # fmt: skip
    return services.subscription_create(
        workspace=workspace, test_mode=False, customer=customer,
        lines=[{"plan": fee, "quantity": Decimal(1)}, {"plan": calls}], now=at,
    )  # fmt: skip


def test_a_bulk_s_events_do_not_outlive_its_answer(tenant):
    # DRF's request, view and response refer to one another, so what they hold waits for
    # the cyclic collector, which walked a batch's events again and again until then.
    def parsed_events_alive() -> int:
        return sum(1 for o in gc.get_objects() if type(o) is dict and o.get("event_name") == "gc")

    gc.disable()
    try:
        response = post_bulk(tenant, [_event(n, "nobody-yet", event_name="gc") for n in range(50)])
        assert response.status_code == 202
        assert response.json()["accepted"] == 50
        assert parsed_events_alive() == 0
    finally:
        gc.enable()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("keyed", [False, True])
def test_a_batch_commits_before_its_answer_is_written(keyed, tenant, monkeypatch):
    """Its keys are held no longer than its insert: a batch repeating its events waits on
    them only that long. Under an Idempotency-Key the answer is kept with the writes."""
    from metering.api import views

    in_transaction = []
    written = views.ingest_answer

    def answer(report, *, kept):
        in_transaction.append(connection.in_atomic_block)
        return written(report, kept=kept)

    monkeypatch.setattr(views, "ingest_answer", answer)
    headers = {"HTTP_IDEMPOTENCY_KEY": "batch-1"} if keyed else {}
    response = tenant.client.post(
        "/events/bulk/", {"events": [_event(1, "cus_x")]}, format="json", **headers
    )

    assert response.status_code == 202
    assert in_transaction == [keyed]


def test_an_event_named_in_the_usage_records_namespace_is_refused(tenant):
    """Such an event would be billed on a usage-record line without being a record."""
    reserved = "usage_record:pln_1"
    single = tenant.client.post("/events/", _event(1, "c", event_name=reserved), format="json")
    body = post_bulk(tenant, [_event(2, "c", event_name=reserved), _event(3, "c")]).json()

    assert single.status_code == 400
    assert list(single.json()) == ["event_name"]
    assert "reserved" in single.json()["event_name"][0]
    assert [(r["status"], r["reason"].split(":")[0]) for r in body["results"]] == [
        ("rejected", "event_name"),
        ("accepted", ""),
    ]
    assert _stored(tenant) == 1


@pytest.mark.parametrize("value", ["1234567890.123456789", "12345678901234567.5", "5e-7", "1E3"])
def test_a_fraction_is_stored_exactly_by_both_routes(tenant, value):
    meter = meter_of(tenant, aggregation="sum", field="v")
    single = tenant.client.post("/events/", _raw_event("a", value), content_type="application/json")
    body = f'{{"events": [{_raw_event("b", value)}]}}'
    bulk = tenant.client.post("/events/bulk/", body, content_type="application/json")

    assert (single.status_code, bulk.status_code, bulk.json()["accepted"]) == (202, 202, 1)
    assert usage(tenant, meter, "c") == 2 * Decimal(value)


def test_an_integer_no_store_can_write_deep_in_a_bulk_s_properties_is_rejected(tenant):
    deep = _raw_event("deep", '{"x": 18446744073709551616, "y": 1.5}')
    body = f'{{"events": [{deep}, {_raw_event("ok", "2.5")}]}}'
    response = tenant.client.post("/events/bulk/", body, content_type="application/json")

    assert response.status_code == 202, response.content
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "accepted"]
    assert _stored(tenant) == 1
