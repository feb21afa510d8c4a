"""Payments racing for the same invoice on real PostgreSQL, in threads with their own
transactions: the invoice is never over-applied."""

import os
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.errors import DomainError
from customers.models import CustomerBalanceTransaction
from invoices.models import Invoice
from invoices.selectors import invoice_amount_due
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways import sandbox
from payments.models import Payment, PaymentAllocation
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the concurrency tests on PostgreSQL")
        pytest.skip("row locks need PostgreSQL")


def _race(workers: int, work) -> tuple[list[object], list[str], list[BaseException]]:
    barrier = threading.Barrier(workers)
    results: list[object] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results.append(work(index))
        except DomainError as exc:
            refused.append(exc.code)
        except BaseException as exc:  # surfaced by the assertions
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, refused, errors


def test_racing_partial_payments_never_exceed_the_amount_due():
    _require_postgresql()
    tenant = make_tenant()
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)  # 1,190
    # Each 300 fits alone; three of the eight fit together, a fourth pays the last 290
    # and leaves 10 as credit, and the others find the invoice paid.

    def pay(index: int) -> Payment:
        return services.payment_create(
            workspace=tenant.workspace,
            test_mode=False,
            allocations=[
                services.AllocationRequest(Invoice.objects.get(pk=invoice.pk), Decimal(300))
            ],
            now=timezone.now(),
        )

    results, refused, errors = _race(8, pay)

    assert errors == []
    assert len(results) == 4
    assert refused == ["invoice_not_payable"] * 4
    applied = sum(PaymentAllocation.objects.values_list("amount", flat=True))
    assert applied == Decimal(1190)
    assert invoice_amount_due(invoice) == Decimal(0)
    credit = CustomerBalanceTransaction.objects.get(customer=invoice.customer_id)
    assert (credit.kind, credit.amount) == ("payment", Decimal(10))


def test_racing_charges_pay_an_invoice_once():
    _require_postgresql()
    tenant = make_tenant()
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    sources = [
        services.source_create_sandbox_card(
            customer=invoice.customer,
            card_number=sandbox.SUCCEEDS,
            exp_month=12,
            exp_year=2034,
            now=timezone.now(),
        )
        for _ in range(4)
    ]

    def charge(index: int) -> Payment:
        fresh = Invoice.objects.get(pk=invoice.pk)
        return services.payment_charge_invoice(
            invoice=fresh, source=sources[index], now=timezone.now()
        )

    results, refused, errors = _race(4, charge)

    assert errors == []
    assert [p.status for p in results] == ["succeeded"]  # type: ignore[attr-defined]
    assert sorted(refused) == ["invoice_not_payable"] * 3
    assert Payment.objects.filter(status="succeeded").count() == 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice_amount_due(invoice) == 0


def test_an_intents_form_sent_again_while_the_first_pays_shows_the_payment_made():
    """A double click on the intent's page: the second submit waits for the first one's
    payment, then lands on its result, never on a refusal of a payment that was made."""
    _require_postgresql()
    from django.db import transaction
    from django.test import Client

    from payments.gateways.base import CardInput
    from payments.models import Intent
    from payments.tests.hosted_forms import hidden_fields

    tenant = make_tenant()
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    created = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    url = f"/publishable/intents/{created['client_secret']}/hosted/"
    browser = Client(headers={"Accept-Language": "en"})
    posted = {"card_number": sandbox.SUCCEEDS, "expiry": "12/34", "cvc": "123"}
    posted |= hidden_fields(browser.get(url))
    first_paid, release = threading.Event(), threading.Event()

    def first_submit() -> None:  # holds the payment's locks until released
        try:
            with transaction.atomic():
                services.intent_pay_with_card(
                    intent=Intent.objects.get(pk=created["id"]),
                    card=CardInput(sandbox.SUCCEEDS, 12, 2034),
                    now=timezone.now(),
                )
                first_paid.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    answers = []

    def second_submit() -> None:
        try:
            answers.append(browser.post(url, posted))
        finally:
            connection.close()

    first = threading.Thread(target=first_submit)
    first.start()
    assert first_paid.wait(timeout=30)
    second = threading.Thread(target=second_submit)
    second.start()
    second.join(timeout=2)  # it waits on the first one's locks
    release.set()
    first.join()
    second.join()

    assert answers[0].status_code == 302, answers[0].content.decode()
    assert "Payment successful" in browser.get(url).content.decode()
    assert Payment.objects.filter(status="succeeded").count() == 1
