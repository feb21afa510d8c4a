"""A compiled read that opens a transaction (a finalize's locked read) is prepared there
and run with EXECUTE (billing.compiled_reads): it answers as the read Django compiles,
and a prepared form made stale by a migration is made again in the same transaction."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.clock import workspace_today
from billing.compiled_reads import _PREPARED_ON, _prepared_name, compiled_object_read
from billing.models import DocumentType
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.services.invoices import _locked_for_finalize, invoice_create, invoice_finalize

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _draft(tenant) -> Invoice:
    return invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=workspace_today(tenant.workspace, timezone.now()),
        lines=[{"name": f"Item {i}", "amount": 1000 + i} for i in range(3)],
    )


def _locked_read_name() -> str | None:
    read = compiled_object_read(("invoice_finalize",), _locked_for_finalize, "unused")
    assert read is not None
    return _prepared_name(read.read.sql, len(read.read.params))


def _shown(invoice: Invoice) -> tuple:
    lines = [(line.pk, line.amount, line.position) for line in invoice.lines.all()]
    return invoice.status, invoice.number, invoice.total, invoice.customer.pk, lines


def _as_django_reads_it(pk: str) -> tuple:
    queryset, _ = _locked_for_finalize()
    with transaction.atomic():
        return _shown(queryset.get(pk=pk))


def test_a_finalize_prepares_its_locked_read_in_its_transaction(tenant):
    first, second = _draft(tenant), _draft(tenant)

    invoice_finalize(invoice=first, now=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        finalized = invoice_finalize(invoice=second, now=timezone.now())

    assert _locked_read_name() in _PREPARED_ON[connection.connection]
    assert any(q["sql"].startswith("EXECUTE compiled_read_") for q in queries.captured_queries)
    assert finalized.number == 2
    assert _shown(finalized) == _as_django_reads_it(second.pk)


def test_a_prepared_read_made_stale_by_a_migration_is_prepared_again_in_the_transaction(tenant):
    first, second = _draft(tenant), _draft(tenant)
    invoice_finalize(invoice=first, now=timezone.now())
    assert _locked_read_name() in _PREPARED_ON[connection.connection]
    # A migration changes a column the prepared read selects: its result type changes.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE invoices_invoice ALTER COLUMN stripe_status TYPE varchar(17)")
    try:
        with CaptureQueriesContext(connection) as queries:
            finalized = invoice_finalize(invoice=second, now=timezone.now())
        numbers = sorted(Invoice.objects.values_list("number", flat=True))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE invoices_invoice ALTER COLUMN stripe_status TYPE varchar(16)"
            )
            cursor.execute("DEALLOCATE ALL")
        _PREPARED_ON.pop(connection.connection, None)

    assert "DEALLOCATE ALL" in [q["sql"] for q in queries.captured_queries]
    assert finalized.number == 2
    assert numbers == [1, 2]
