"""Customer `aggregations`: sales, sales of the current month in the workspace's timezone,
and balance, computed by invoices.selectors and shown on the customer."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import time_machine

from billing.models import DocumentType
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.services.invoices import (
    invoice_create,
    invoice_finalize,
    invoice_toggle_uncollectible,
)
from invoices.services.notes import (
    credit_note_create,
    debit_note_create,
    invoice_cancel,
    note_finalize,
)
from tests.numbers import D

pytestmark = pytest.mark.django_db

JAN_31_LATE_IN_SANTIAGO = datetime.fromisoformat("2026-02-01T02:30:00+00:00")  # 23:30, UTC−3
FEB_1_EARLY_IN_SANTIAGO = datetime.fromisoformat("2026-02-01T03:30:00+00:00")  # 00:30


def on(day):
    """When a document dated `day` finalizes: once its date has come."""
    return max(JAN_31_LATE_IN_SANTIAGO, datetime.combine(day, time(15), tzinfo=UTC))


def issue(tenant, customer, day, amount, *, finalize=True):
    """A factura (33) of one taxable line: `amount` + 19% IVA."""
    invoice = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=customer,
        document=DocumentType.objects.get(pk=33),
        date=day,
        lines=[{"name": "Servicio", "amount": Decimal(amount)}],
    )
    return invoice_finalize(invoice=invoice, now=on(day)) if finalize else invoice


def note(create, tenant, invoice, day, amount, *, finalize=True):
    made = create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        reason=3,
        now=JAN_31_LATE_IN_SANTIAGO,
        date=day,
        lines=[{"name": "Ajuste", "amount": Decimal(amount)}],
    )
    return note_finalize(note=made, now=on(day)) if finalize else made


@pytest.fixture
def customer(tenant):
    """Documents whose aggregations are checked by hand below."""
    customer = CustomerFactory(workspace=tenant.workspace)
    a = issue(tenant, customer, date(2026, 1, 10), 1000)  # 1,190 finalized
    b = issue(tenant, customer, date(2026, 1, 31), 2000)  # 2,380 paid
    Invoice.objects.filter(pk=b.pk).update(status="paid")
    c = issue(tenant, customer, date(2026, 2, 1), 3000)  # 3,570 uncollectible
    invoice_toggle_uncollectible(invoice=c, now=JAN_31_LATE_IN_SANTIAGO)
    issue(tenant, customer, date(2026, 1, 15), 5000, finalize=False)  # a draft: nothing
    e = issue(tenant, customer, date(2026, 1, 20), 4000)  # 4,760, cancelled with its note
    invoice_cancel(invoice=e, now=JAN_31_LATE_IN_SANTIAGO)
    note(credit_note_create, tenant, a, date(2026, 1, 12), 100)  # −119 on A, January
    note(credit_note_create, tenant, a, date(2026, 1, 13), 50, finalize=False)  # a draft
    note(credit_note_create, tenant, c, date(2026, 2, 2), 200)  # −238 on C (not a sale)
    note(debit_note_create, tenant, a, date(2026, 2, 3), 500)  # +595 on A, February
    return customer


def aggregations(tenant, customer):
    response = tenant.client.get(f"/customers/{customer.id}/")
    assert response.status_code == 200, response.json()
    return response.json()["aggregations"]


def test_sales_and_balance_by_hand(tenant, customer):
    with time_machine.travel(JAN_31_LATE_IN_SANTIAGO, tick=False):
        result = aggregations(tenant, customer)

    # sales: A 1,190 + B 2,380 − 119 + 595; C is uncollectible, E cancelled with its note.
    # January (still, in Santiago): A 1,190 + B 2,380 − 119 (the February debit is out).
    # balance: A 1,190 − 119 + 595, C 3,570 − 238 (B is paid, E cancelled).
    assert result == {
        "sales": D("4046"),
        "sales_current_period": D("3451"),
        "balance": D("4998"),
        "credit_balance": D("0"),
    }


@pytest.mark.parametrize(
    ("now", "period"),
    [
        (JAN_31_LATE_IN_SANTIAGO, D("3451")),  # UTC is in February already
        (FEB_1_EARLY_IN_SANTIAGO, D("595")),  # only the debit note is dated in February
    ],
)
def test_the_current_period_is_the_month_in_santiago(tenant, customer, now, period):
    with time_machine.travel(now, tick=False):
        listed = tenant.client.get("/customers/").json()["results"][0]["aggregations"]

    assert listed["sales_current_period"] == period
    assert (listed["sales"], listed["balance"]) == (D("4046"), D("4998"))


@pytest.mark.parametrize(
    ("now", "counted"),
    [
        ("2026-07-01T03:30:00+00:00", True),  # June 30, 23:30 in Santiago (winter, UTC−4)
        ("2026-07-01T04:30:00+00:00", False),  # July 1, 00:30
    ],
)
def test_the_month_boundary_follows_santiago_winter_time(tenant, now, counted):
    customer = CustomerFactory(workspace=tenant.workspace)
    issue(tenant, customer, date(2026, 6, 30), 1000)

    with time_machine.travel(datetime.fromisoformat(now), tick=False):
        result = aggregations(tenant, customer)

    assert result["sales_current_period"] == (D("1190") if counted else D("0"))


def test_a_new_customer_has_zero_aggregations_as_strings(tenant):
    response = tenant.client.post(
        "/customers/", {"name": "ACME", "country": "CL", "tax_id": "76.086.428-5"}, format="json"
    )

    assert response.json()["aggregations"] == {
        "sales": D("0"),
        "sales_current_period": D("0"),
        "balance": D("0"),
        "credit_balance": D("0"),
    }


def test_documents_in_another_currency_are_not_added(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    issue(tenant, customer, date(2026, 1, 10), 1000)
    # The API keeps the currency of a customer with documents (customer_has_documents);
    # a customer changed before that rule may still hold documents in another one.
    Customer.objects.filter(pk=customer.pk).update(currency_id="USD")

    with time_machine.travel(JAN_31_LATE_IN_SANTIAGO, tick=False):
        result = aggregations(tenant, customer)

    assert result == {
        "sales": D("0"),
        "sales_current_period": D("0"),
        "balance": D("0"),
        "credit_balance": D("0"),
    }


def test_the_customer_list_does_not_query_per_customer(tenant, django_assert_max_num_queries):
    customers = [CustomerFactory(workspace=tenant.workspace) for _ in range(8)]
    for index, customer in enumerate(customers):
        invoice = issue(tenant, customer, date(2026, 1, 10), 1000 * (index + 1))
        note(credit_note_create, tenant, invoice, date(2026, 1, 11), 100)

    # token, workspace, count, page (aggregations as subqueries), contacts.
    with (
        time_machine.travel(JAN_31_LATE_IN_SANTIAGO, tick=False),
        django_assert_max_num_queries(5),
    ):
        response = tenant.client.get("/customers/", {"ordering": "created"})

    sales = [item["aggregations"]["sales"] for item in response.json()["results"]]
    assert sales == [1190 * (index + 1) - 119 for index in range(8)]
