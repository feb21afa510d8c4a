"""A bulk end to end on a real worker: the request queues it, the worker creates each
item's document once, even when its message is delivered three times."""

import time

import psycopg
import pytest

from bulks.choices import MAX_ITEM_ATTEMPTS, BulkStatus
from bulks.models import Bulk
from bulks.tasks import process_bulk
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from tests.conftest import make_tenant
from tests.workers import (
    require_worker_services,
    running_worker,
    use_test_broker,
)
from tests.workers import test_database_url as database_url

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


def test_an_item_that_kills_its_worker_is_failed_after_a_few_attempts(tmp_path):
    """An item whose creation never ends (here it waits on a row this test holds) and whose
    worker is killed each time: the restarted workers take it again only a few times, then
    record it as failed and finish the bulk; the other items are created once each."""
    require_worker_services()
    tenant = make_tenant()
    customer, held_customer = (CustomerFactory(workspace=tenant.workspace) for _ in range(2))
    items = [
        {"customer": owner.id, "document": 33, "date": "2026-03-02",
         "lines": [{"name": name, "amount": 1000}]}
        for owner, name in ((customer, "uno"), (held_customer, "dos"), (customer, "tres"))
    ]  # fmt: skip
    env = {"BULK_ITEM_LEASE_SECONDS": "1"}
    holder = psycopg.connect(database_url())
    watcher = psycopg.connect(database_url(), autocommit=True)
    try:
        # The invoice of item 1 references this customer: its insert waits on this lock.
        holder.execute("SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE",
                       [held_customer.id])  # fmt: skip
        with use_test_broker():
            submitted = tenant.client.post("/bulks/invoices/", {"items": items}, format="json")
            bulk_id = submitted.json()["id"]
            for _ in range(MAX_ITEM_ATTEMPTS):
                with running_worker(tmp_path, extra_env=env, concurrency=1) as worker:
                    process_bulk.delay(bulk_id=bulk_id)  # the beat sweep
                    _wait_until(lambda: _waiting_on_a_lock(watcher), "item 1 to be under way")
                    worker.kill()
                _end_dead_sessions(watcher)
                time.sleep(1.5)  # the dead worker's lease on the item runs out
            with running_worker(tmp_path, extra_env=env, concurrency=1):
                process_bulk.delay(bulk_id=bulk_id)
                _wait_until(
                    lambda: Bulk.objects.get(pk=bulk_id).status == BulkStatus.COMPLETED,
                    "the bulk to complete",
                )
            body = tenant.client.get(f"/bulks/invoices/{bulk_id}/").json()
    finally:
        holder.close()
        watcher.close()

    assert body["counts"] == {"total": 3, "pending": 0, "succeeded": 2, "failed": 1}
    first, failed, last = body["results"]
    assert (failed["status"], failed["object"]) == ("failed", None)
    assert failed["errors"]["code"] == "item_attempts_exhausted"
    invoices = Invoice.objects.filter(workspace=tenant.workspace)
    assert sorted(invoices.values_list("lines__name", flat=True)) == ["tres", "uno"]
    assert {first["object"], last["object"]} == set(invoices.values_list("id", flat=True))


def _wait_until(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


_WAITERS = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


def _waiting_on_a_lock(watcher) -> bool:
    return watcher.execute(_WAITERS).fetchone() is not None


def _end_dead_sessions(watcher) -> None:
    """A killed worker's session waiting on a lock does not notice its client is gone
    until the lock is released; PostgreSQL would drop it then. Drop it now."""
    for (pid,) in watcher.execute(_WAITERS).fetchall():
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
