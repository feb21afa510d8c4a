"""`/bulks/invoices/` and `/bulks/retentions/`: up to 500 bodies in one request, each
created once by the worker, with per-item results to poll."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bulks.choices import MAX_ITEM_ATTEMPTS
from bulks.models import Bulk, BulkItem
from bulks.services import ATTEMPTS_EXHAUSTED, CONFLICT, bulk_process
from bulks.tasks import process_bulk
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from procurement.models import Retention
from procurement.tests.factories import SupplierFactory
from tests.faults.database import CHECK_VIOLATION, DISK_FULL, failing_inserts

pytestmark = pytest.mark.django_db


def invoice_body(customer, **overrides):
    return {
        "customer": overrides.pop("customer_id", customer.id),
        "document": 33,
        "date": "2026-03-02",
        "lines": [{"name": "Servicio", "amount": 10000}],
        **overrides,
    }


def test_a_bulk_of_invoices_creates_each_valid_item_and_reports_the_rest(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [
        invoice_body(customer),
        invoice_body(customer, customer_id="cus_missing"),
        invoice_body(customer, lines=[{"name": "Otro", "amount": 500, "quantity": 2}]),
    ]

    submitted = tenant.client.post("/bulks/invoices/", {"items": items}, format="json")
    bulk_id = submitted.json()["id"]
    processed = bulk_process(bulk_id=bulk_id, clock=timezone.now)
    polled = tenant.client.get(f"/bulks/invoices/{bulk_id}/")

    assert submitted.status_code == 202, submitted.json()
    assert (submitted.json()["status"], submitted.json()["counts"]["pending"]) == ("pending", 3)
    assert processed == 3
    body = polled.json()
    assert (body["status"], body["kind"]) == ("completed", "invoices")
    assert body["counts"] == {"total": 3, "pending": 0, "succeeded": 2, "failed": 1}
    results = body["results"]
    assert [r["status"] for r in results] == ["succeeded", "failed", "succeeded"]
    assert "customer" in results[1]["errors"]
    assert results[1]["object"] is None
    invoices = Invoice.objects.filter(pk__in=[results[0]["object"], results[2]["object"]])
    assert sorted(i.total for i in invoices) == [Decimal(1190), Decimal(11900)]


def test_each_item_carries_when_it_was_processed(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [invoice_body(customer), invoice_body(customer, customer_id="cus_missing")] * 2
    bulk_id = tenant.client.post("/bulks/invoices/", {"items": items}, format="json").json()["id"]
    before = timezone.now()

    process_bulk(bulk_id=bulk_id)  # as the worker runs it, on the real clock
    body = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()

    times = [datetime.fromisoformat(r["processed_at"]) for r in body["results"]]
    assert len(set(times)) == len(items)
    assert before < times[0] and times == sorted(times)
    assert times[-1] <= datetime.fromisoformat(body["completed_at"])


def test_a_bulk_shows_when_it_started_processing(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    posted = tenant.client.post(
        "/bulks/invoices/", {"items": [invoice_body(customer)] * 2}, format="json"
    ).json()
    seen = []

    def clock():  # read as each item is done: the bulk as a poller sees it then
        seen.append(tenant.client.get(f"/bulks/invoices/{posted['id']}/").json())
        return timezone.now()

    bulk_process(bulk_id=posted["id"], clock=clock)

    processing = [bulk for bulk in seen if bulk["status"] == "processing"]
    assert processing, [bulk["status"] for bulk in seen]
    started = datetime.fromisoformat(processing[0]["updated"])
    assert started > datetime.fromisoformat(posted["updated"])


def test_bulks_are_ordered_by_when_they_completed(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    ids = [
        tenant.client.post(
            "/bulks/invoices/", {"items": [invoice_body(customer)]}, format="json"
        ).json()["id"]
        for _ in range(3)
    ]
    for bulk_id in (ids[1], ids[0], ids[2]):
        bulk_process(bulk_id=bulk_id, clock=timezone.now)

    ordered = tenant.client.get("/bulks/invoices/?ordering=completed_at")
    reversed_ = tenant.client.get("/bulks/invoices/?ordering=-completed_at")

    assert ordered.status_code == 200, ordered.json()
    assert [b["id"] for b in ordered.json()["results"]] == [ids[1], ids[0], ids[2]]
    assert [b["id"] for b in reversed_.json()["results"]] == [ids[2], ids[0], ids[1]]


@pytest.mark.parametrize(
    ("fault", "answered"),
    [
        # What `POST /invoices/` answers: a 500 for a full disk, whose details go to the
        # log, and a 409 for a write a database constraint refused.
        (DISK_FULL, {"detail": "Server error.", "code": "server_error"}),
        (CHECK_VIOLATION, {"code": "conflict", "detail": CONFLICT["detail"]}),
    ],
)
def test_an_item_the_database_fails_is_recorded_and_the_rest_go_on(tenant, fault, answered):
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [invoice_body(customer, note=note) for note in ("uno", "falla", "tres")]
    bulk_id = tenant.client.post("/bulks/invoices/", {"items": items}, format="json").json()["id"]

    with failing_inserts(Invoice, column="note", value="falla", fault=fault):
        processed = bulk_process(bulk_id=bulk_id, clock=timezone.now)
        again = bulk_process(bulk_id=bulk_id, clock=timezone.now)  # the beat sweep
    body = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()

    assert (processed, again) == (3, 0)
    assert body["status"] == "completed"
    assert body["counts"] == {"total": 3, "pending": 0, "succeeded": 2, "failed": 1}
    first, failed, last = body["results"]
    assert failed["status"] == "failed"
    assert failed["errors"] == answered
    assert (failed["object"], failed["processed_at"] is not None) == (None, True)
    notes = Invoice.objects.filter(workspace=tenant.workspace).values_list("note", flat=True)
    assert sorted(notes) == ["tres", "uno"]
    assert {first["object"], last["object"]} == set(
        Invoice.objects.filter(workspace=tenant.workspace).values_list("id", flat=True)
    )


def test_processing_a_bulk_again_creates_nothing_more(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    bulk_id = tenant.client.post(
        "/bulks/invoices/", {"items": [invoice_body(customer)] * 2}, format="json"
    ).json()["id"]

    first = bulk_process(bulk_id=bulk_id, clock=timezone.now)
    again = bulk_process(bulk_id=bulk_id, clock=timezone.now)

    assert (first, again) == (2, 0)
    assert Invoice.objects.filter(workspace=tenant.workspace).count() == 2


def test_an_item_whose_workers_died_each_attempt_is_failed_and_the_rest_go_on(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [invoice_body(customer, note=note) for note in ("uno", "dos", "tres")]
    bulk_id = tenant.client.post("/bulks/invoices/", {"items": items}, format="json").json()["id"]
    # As the workers left it: each took item 1 up and died before recording a result.
    dead = BulkItem.objects.filter(bulk_id=bulk_id, position=1)
    dead.update(attempts=MAX_ITEM_ATTEMPTS, lease_expires_at=timezone.now())

    processed = bulk_process(bulk_id=bulk_id, clock=timezone.now)
    body = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()

    assert (processed, body["status"]) == (3, "completed")
    assert [r["status"] for r in body["results"]] == ["succeeded", "failed", "succeeded"]
    assert body["results"][1]["errors"] == ATTEMPTS_EXHAUSTED
    notes = Invoice.objects.filter(workspace=tenant.workspace).values_list("note", flat=True)
    assert sorted(notes) == ["tres", "uno"]


def test_an_item_a_live_worker_holds_is_left_to_it(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [invoice_body(customer, note=note) for note in ("uno", "dos")]
    bulk_id = tenant.client.post("/bulks/invoices/", {"items": items}, format="json").json()["id"]
    held = BulkItem.objects.filter(bulk_id=bulk_id, position=0)
    held.update(attempts=1, lease_expires_at=timezone.now() + timedelta(minutes=1))

    processed = bulk_process(bulk_id=bulk_id, clock=timezone.now)

    assert processed == 1
    assert Bulk.objects.get(pk=bulk_id).status == "processing"
    assert held.get().status == "pending"
    assert list(
        Invoice.objects.filter(workspace=tenant.workspace).values_list("note", flat=True)
    ) == ["dos"]


def test_a_bulk_of_retentions(tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)
    items = [
        {"supplier": supplier.id, "date": "2026-03-02", "amount": 450000},
        {"supplier": supplier.id, "date": "2026-03-02", "amount": -1},
    ]

    bulk_id = tenant.client.post("/bulks/retentions/", {"items": items}, format="json").json()["id"]
    bulk_process(bulk_id=bulk_id, clock=timezone.now)
    body = tenant.client.get(f"/bulks/retentions/{bulk_id}/").json()

    assert [r["status"] for r in body["results"]] == ["succeeded", "failed"]
    retention = Retention.objects.get(pk=body["results"][0]["object"])
    assert retention.retention == Decimal(68625)  # 15.25 % of 450,000 in 2026
    assert "amount" in body["results"][1]["errors"]
    # A bulk of one kind is not found under the other.
    assert tenant.client.get(f"/bulks/invoices/{bulk_id}/").status_code == 404


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([], "items"),
        ([{}] * 501, "items"),
        (["not an object"], "items"),
        ("nothing", "items"),
    ],
)
def test_bad_bulks_are_400(tenant, items, field):
    response = tenant.client.post("/bulks/invoices/", {"items": items}, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()
    if items == ["not an object"]:
        assert response.json()["items"] == {"0": ["Each item is a JSON object."]}


def test_every_item_that_is_not_an_object_is_reported_at_once(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [invoice_body(customer), "text", None, [1], 5, invoice_body(customer), True]

    response = tenant.client.post(
        "/bulks/invoices/", {"items": items, "metadata": {"": "x"}}, format="json"
    )

    assert response.status_code == 400, response.json()
    message = ["Each item is a JSON object."]
    assert response.json()["items"] == {str(i): message for i in (1, 2, 3, 4, 6)}
    assert "metadata" in response.json()  # reported beside the items, not instead


def test_a_bulk_keeps_the_metadata_it_is_created_with(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)

    created = tenant.client.post(
        "/bulks/invoices/",
        {"metadata": {"src": "erp"}, "items": [invoice_body(customer)]},
        format="json",
    )
    found = tenant.client.get("/bulks/invoices/", {"metadata__src": "erp"}).json()

    assert created.status_code == 202, created.json()
    assert created.json()["metadata"] == {"src": "erp"}
    assert [bulk["id"] for bulk in found["results"]] == [created.json()["id"]]


def test_a_bulk_takes_metadata_by_put_but_not_new_items_and_is_not_deleted(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    bulk_id = tenant.client.post(
        "/bulks/invoices/", {"items": [invoice_body(customer)]}, format="json"
    ).json()["id"]

    put = tenant.client.put(
        f"/bulks/invoices/{bulk_id}/", {"metadata": {"lote": "7"}}, format="json"
    )
    items = tenant.client.put(
        f"/bulks/invoices/{bulk_id}/", {"items": [invoice_body(customer)]}, format="json"
    )
    delete = tenant.client.delete(f"/bulks/invoices/{bulk_id}/")

    assert put.status_code == 200, put.json()
    assert (put.json()["metadata"], put.json()["counts"]["total"]) == ({"lote": "7"}, 1)
    assert items.status_code == 400
    assert "items" in items.json()
    assert delete.status_code == 405
    assert delete.json()["code"] == "method_not_allowed"


KIND_BY_ROUTE = ["A bulk's kind is its route's: /bulks/invoices/ or /bulks/retentions/."]
STATUS_BY_ITEMS = ["A bulk's status follows the processing of its items."]


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        ({"kind": "retentions"}, {"kind": KIND_BY_ROUTE}),
        ({"status": "completed"}, {"status": STATUS_BY_ITEMS}),
    ],
)
def test_a_bulk_created_with_another_kind_or_status_is_refused(tenant, extra, errors):
    customer = CustomerFactory(workspace=tenant.workspace)

    response = tenant.client.post(
        "/bulks/invoices/", {"items": [invoice_body(customer)], **extra}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json() == errors
    assert not Bulk.objects.filter(workspace=tenant.workspace).exists()


def test_a_bulk_created_with_what_a_new_bulk_shows_is_accepted(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    body = {"items": [invoice_body(customer)], "kind": "invoices", "status": "pending"}

    response = tenant.client.post("/bulks/invoices/", body, format="json")

    assert response.status_code == 202, response.json()


def test_a_bulk_retrieved_before_it_was_processed_is_put_back_but_not_moved_on(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    waiting = tenant.client.post(
        "/bulks/invoices/", {"items": [invoice_body(customer)]}, format="json"
    ).json()
    other = tenant.client.post(
        "/bulks/invoices/", {"items": [invoice_body(customer)]}, format="json"
    ).json()
    bulk_process(bulk_id=waiting["id"], clock=timezone.now)
    stale = {key: value for key, value in waiting.items() if key != "items"}

    put_back = tenant.client.put(f"/bulks/invoices/{waiting['id']}/", stale, format="json")
    moved_on = tenant.client.put(
        f"/bulks/invoices/{other['id']}/", {"status": "completed"}, format="json"
    )

    # Retrieved while pending, the bulk has completed since: its stale status is what
    # it showed, not a request to change it.
    assert put_back.status_code == 200, put_back.json()
    assert put_back.json()["status"] == "completed"
    assert moved_on.status_code == 400, moved_on.json()
    assert moved_on.json() == {"status": STATUS_BY_ITEMS}


def test_an_item_setting_its_invoices_status_fails_with_the_endpoints_error(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [invoice_body(customer, status="paid")]

    bulk_id = tenant.client.post("/bulks/invoices/", {"items": items}, format="json").json()["id"]
    bulk_process(bulk_id=bulk_id, clock=timezone.now)
    [result] = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()["results"]

    assert result["status"] == "failed"
    assert list(result["errors"]) == ["status"]
    assert not Invoice.objects.filter(workspace=tenant.workspace).exists()


def test_an_items_errors_are_what_its_own_endpoint_answers(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    body = invoice_body(customer, lines=[{"name": "Servicio", "amount": 100, "discount": 500}])

    alone = tenant.client.post("/invoices/", body, format="json")
    bulk_id = tenant.client.post("/bulks/invoices/", {"items": [body]}, format="json").json()["id"]
    bulk_process(bulk_id=bulk_id, clock=timezone.now)
    [result] = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()["results"]

    assert alone.status_code == 400
    assert "discount" in alone.json()["lines"]["0"]
    assert result["errors"] == alone.json()


def test_an_items_errors_name_every_field_to_fix_at_once(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    body = invoice_body(customer, customer_id="cus_missing", colour="red", status="paid")

    alone = tenant.client.post("/invoices/", body, format="json")
    bulk_id = tenant.client.post("/bulks/invoices/", {"items": [body]}, format="json").json()["id"]
    bulk_process(bulk_id=bulk_id, clock=timezone.now)
    [result] = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()["results"]

    assert alone.status_code == 400
    assert sorted(alone.json()) == ["colour", "customer", "status"]
    assert result["errors"] == alone.json()


def test_items_with_fractional_numbers_are_accepted_and_created_exactly(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    # Written by hand: the numbers reach the server as JSON literals, as Piriod's SDK sends
    # them ("quantity": 2.5), not as strings.
    item = f'"customer": "{customer.id}", "document": 33, "date": "2026-03-02"'
    line = '{"name": "Horas", "amount": 1000, "quantity": 2.5}'
    body = '{"items": [{' + item + ', "lines": [' + line + "]}]}"

    submitted = tenant.client.post("/bulks/invoices/", body, content_type="application/json")
    assert submitted.status_code == 202, submitted.json()
    bulk_process(bulk_id=submitted.json()["id"], clock=timezone.now)
    result = tenant.client.get(f"/bulks/invoices/{submitted.json()['id']}/").json()["results"][0]

    assert result["status"] == "succeeded", result["errors"]
    line = Invoice.objects.get(pk=result["object"]).lines.get()
    assert line.quantity == Decimal("2.5")


def test_bulks_are_listed_by_status_and_by_several_statuses(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    done, waiting = (
        tenant.client.post(
            "/bulks/invoices/", {"items": [invoice_body(customer)]}, format="json"
        ).json()["id"]
        for _ in range(2)
    )
    bulk_process(bulk_id=done, clock=timezone.now)

    def listed(**params):
        response = tenant.client.get("/bulks/invoices/", params)
        assert response.status_code == 200, response.json()
        return sorted(b["id"] for b in response.json()["results"])

    assert listed(status="completed") == [done]
    assert listed(status__in="pending,processing") == [waiting]
    assert listed(status__in="pending,completed") == sorted([done, waiting])
