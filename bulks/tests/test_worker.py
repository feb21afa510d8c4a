"""A bulk end to end on a real worker: the request queues it, the worker creates each
item's document once, even when its message is delivered three times."""

import time

import pytest

from bulks.tasks import process_bulk
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from tests.conftest import make_tenant
from tests.workers import require_worker_services, running_worker, use_test_broker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ITEMS = 60


def test_a_worker_creates_each_item_once_whatever_the_duplicate_messages(tmp_path):
    require_worker_services()
    tenant = make_tenant()
    customer = CustomerFactory(workspace=tenant.workspace)
    items = [
        {
            "customer": customer.id,
            "document": 33,
            "date": "2026-03-02",
            "lines": [{"name": f"Servicio {n}", "amount": 1000 + n}],
        }
        for n in range(ITEMS)
    ]
    with use_test_broker():
        submitted = tenant.client.post("/bulks/invoices/", {"items": items}, format="json")
        bulk_id = submitted.json()["id"]
        # The same bulk delivered twice more, as a redelivery or the beat sweep would.
        process_bulk.delay(bulk_id=bulk_id)
        process_bulk.delay(bulk_id=bulk_id)
        with running_worker(tmp_path, concurrency=3):
            deadline = time.monotonic() + 90
            body = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()
            while body["status"] != "completed" and time.monotonic() < deadline:
                time.sleep(0.5)
                body = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()

    assert submitted.status_code == 202
    assert body["status"] == "completed", body["counts"]
    assert body["counts"] == {"total": ITEMS, "pending": 0, "succeeded": ITEMS, "failed": 0}
    created = [r["object"] for r in body["results"]]
    assert len(set(created)) == ITEMS
    assert Invoice.objects.filter(workspace=tenant.workspace).count() == ITEMS
    names = Invoice.objects.filter(pk__in=created).values_list("lines__name", flat=True)
    assert sorted(names) == sorted(f"Servicio {n}" for n in range(ITEMS))
