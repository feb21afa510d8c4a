"""G2: numbers are gapless and unique per (workspace, mode, document type) under
concurrent finalizes on real PostgreSQL, even when some finalizes roll back."""

import random
import threading
from collections import defaultdict

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.clock import workspace_today
from billing.models import DocumentType, Event
from customers.tests.factories import CustomerFactory
from invoices.choices import InvoiceStatus
from invoices.models import Invoice
from invoices.services.invoices import invoice_create, invoice_finalize
from tests.conftest import make_tenant
from tests.locks import waits_on_a_lock

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class RollBack(Exception):
    pass


def draft(tenant, customer, document_id, test_mode=False):
    return invoice_create(
        workspace=tenant.workspace,
        test_mode=test_mode,
        customer=customer,
        document=DocumentType.objects.get(pk=document_id),
        date=workspace_today(tenant.workspace, timezone.now()),
        lines=[{"name": "Item", "amount": 1000}],
    )


def test_concurrent_finalizes_give_gapless_unique_numbers(request):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are needed; CI runs this on PostgreSQL")
    tenant = make_tenant()
    customer = CustomerFactory(workspace=tenant.workspace)
    test_customer = CustomerFactory(workspace=tenant.workspace, test_mode=True)
    drafts = [draft(tenant, customer, 33) for _ in range(30)]
    drafts += [draft(tenant, customer, 39) for _ in range(20)]
    drafts += [draft(tenant, test_customer, 33, test_mode=True) for _ in range(10)]
    random.Random(7).shuffle(drafts)
    # Every fifth finalize rolls back after taking its number.
    doomed = {invoice.id for invoice in drafts[::5]}
    queue = list(drafts)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    invoice = queue.pop()
                try:
                    with transaction.atomic():
                        invoice_finalize(invoice=invoice, now=timezone.now())
                        if invoice.id in doomed:
                            raise RollBack()
                except RollBack:
                    pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = defaultdict(list)
    for invoice in Invoice.objects.filter(status=InvoiceStatus.FINALIZED):
        numbers[(invoice.test_mode, invoice.document_id)].append(invoice.number)
    rolled_back = Invoice.objects.filter(pk__in=doomed)
    assert all(i.status == InvoiceStatus.DRAFT and i.number is None for i in rolled_back)
    expected_counts = defaultdict(int)
    for invoice in drafts:
        if invoice.id not in doomed:
            expected_counts[(invoice.test_mode, invoice.document_id)] += 1
    assert {key: sorted(values) for key, values in numbers.items()} == {
        key: list(range(1, count + 1)) for key, count in expected_counts.items()
    }
    # The event is written by the statement that takes the number: one each, with it.
    finalized = Event.objects.filter(type="invoice.finalized")
    assert sorted(finalized.values_list("object_id", "data__number")) == sorted(
        Invoice.objects.filter(status=InvoiceStatus.FINALIZED).values_list("id", "number")
    )


def test_a_finalize_whose_event_sequence_is_taken_meanwhile_records_its_event_after():
    """The statement that takes the number also records the event; when another writer
    commits the invoice's next event sequence first, the finalize still commits with its
    number and records its event once, as the following sequence."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are needed; CI runs this on PostgreSQL")
    tenant = make_tenant()
    customer = CustomerFactory(workspace=tenant.workspace)
    invoice_finalize(invoice=draft(tenant, customer, 33), now=timezone.now())  # the counter
    invoice = draft(tenant, customer, 33)
    taken = Event.objects.filter(object_id=invoice.id).count() + 1
    other_started, finished = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def finalize() -> None:
        try:
            other_started.wait()
            invoice_finalize(invoice=invoice, now=timezone.now())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            finished.set()
            connection.close()

    thread = threading.Thread(target=finalize)
    thread.start()
    with transaction.atomic():
        Event.objects.create(workspace=tenant.workspace, test_mode=False, object_id=invoice.id,
                             type="invoice.updated", sequence=taken, data={})  # fmt: skip
        other_started.set()
        # Commit only once the finalize waits on this uncommitted sequence.
        while not finished.is_set() and not waits_on_a_lock():
            finished.wait(0.01)
    thread.join()

    assert errors == []
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (InvoiceStatus.FINALIZED, 2)
    finalized = Event.objects.get(object_id=invoice.id, type="invoice.finalized")
    assert (finalized.sequence, finalized.data["number"]) == (taken + 1, 2)
