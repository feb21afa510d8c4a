"""Credit notes finalized concurrently on real PostgreSQL never over-credit their invoice,
and their numbers stay gapless per type."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.errors import DomainError
from billing.models import DocumentType
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote
from invoices.selectors import invoice_creditable_amount
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.services.notes import credit_note_create, note_finalize
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_concurrent_credit_notes_never_exceed_the_invoice():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are needed; CI runs this on PostgreSQL")
    tenant = make_tenant()
    invoice = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=date(2026, 3, 2),
        lines=[{"name": "Plan", "amount": Decimal(10000)}],
    )
    invoice = invoice_finalize(invoice=invoice, now=timezone.now())  # 11,900
    # Each 2,000 + IVA = 2,380 fits alone; only five of the twelve fit together.
    notes = [
        credit_note_create(
            workspace=tenant.workspace,
            test_mode=False,
            invoice=invoice,
            reason=3,
            now=timezone.now(),
            lines=[{"name": "Ajuste", "amount": Decimal(2000)}],
        )
        for _ in range(12)
    ]
    queue = list(notes)
    lock = threading.Lock()
    refused: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    note = queue.pop()
                try:
                    note_finalize(note=note, now=timezone.now())
                except DomainError as exc:
                    refused.append(exc.code)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert refused == ["credit_note_exceeds_invoice"] * 7
    finalized = CreditNote.objects.filter(status="finalized")
    assert sorted(finalized.values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    assert invoice_creditable_amount(invoice) == Decimal(11900 - 5 * 2380)
