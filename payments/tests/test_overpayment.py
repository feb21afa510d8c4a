"""A payment above what its invoices owe: it pays them in full and the excess is the
customer's credit (rules.md §7), paid back first by a refund."""

import pytest

from invoices.tests.factories import FinalizedInvoiceFactory
from payments.gateways import sandbox
from tests.numbers import D


@pytest.fixture
def invoice(tenant):
    # 1,000 + 19% IVA = 1,190 CLP
    return FinalizedInvoiceFactory(workspace=tenant.workspace)


def _get(tenant, path):
    response = tenant.client.get(path)
    assert response.status_code == 200, response.content
    return response.json()


def _aggregations(tenant, invoice):
    customer = _get(tenant, f"/customers/{invoice.customer_id}/")["aggregations"]
    return customer["credit_balance"], customer["balance"]


def _entries(tenant, invoice):
    rows = _get(tenant, f"/customers/{invoice.customer_id}/balance_transactions/")["results"]
    return [(row["kind"], row["amount"], row["invoice"]) for row in rows]


def test_an_overpayment_pays_the_invoice_and_leaves_the_excess_as_credit(tenant, invoice):
    response = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "1191"})

    assert response.status_code == 201, response.content
    payment = response.json()
    assert (payment["status"], payment["amount"]) == ("succeeded", D("1191"))
    assert [a["amount"] for a in payment["allocations"]] == [D("1190")]
    shown = _get(tenant, f"/invoices/{invoice.id}/")
    assert (shown["status"], shown["amount_due"]) == ("paid", D("0"))
    assert _aggregations(tenant, invoice) == (D("1"), D("-1"))
    assert _entries(tenant, invoice) == [("payment", D("1"), None)]


def test_an_overpayment_across_allocations_pays_each_in_full(tenant, invoice):
    second = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)
    tenant.client.post("/payments/", {"invoice": second.id, "amount": "190"})  # owes 1,000

    response = tenant.client.post(
        "/payments/",
        {"amount": "2500", "allocations": [{"invoice": invoice.id}, {"invoice": second.id}]},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert [a["amount"] for a in response.json()["allocations"]] == [D("1190"), D("1000")]
    for paid in (invoice, second):
        assert _get(tenant, f"/invoices/{paid.id}/")["status"] == "paid"
    assert _aggregations(tenant, invoice) == (D("310"), D("-310"))


def test_an_allocation_above_its_invoice_is_capped_and_the_rest_credited(tenant, invoice):
    second = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)

    response = tenant.client.post(
        "/payments/",
        {
            "amount": "2700",
            "allocations": [
                {"invoice": invoice.id, "amount": "1500"},
                {"invoice": second.id, "amount": "1200"},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert [a["amount"] for a in response.json()["allocations"]] == [D("1190"), D("1190")]
    assert _aggregations(tenant, invoice) == (D("320"), D("-320"))


def test_an_excess_is_refused_while_a_named_invoice_still_owes(tenant, invoice):
    second = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)

    response = tenant.client.post(
        "/payments/",
        {"amount": "2000", "allocations": [{"invoice": invoice.id, "amount": "500"},
                                            {"invoice": second.id, "amount": "500"}]},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400, response.content
    assert "amount" in response.json()
    assert _aggregations(tenant, invoice) == (D("0"), D("2380"))


def test_an_allocation_above_its_invoice_is_refused_while_another_still_owes(tenant, invoice):
    second = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)

    response = tenant.client.post(
        "/payments/",
        {"amount": "2000", "allocations": [{"invoice": invoice.id, "amount": "1500"},
                                            {"invoice": second.id, "amount": "500"}]},
        format="json",
    )  # fmt: skip

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "payment_exceeds_amount_due"
    assert _aggregations(tenant, invoice) == (D("0"), D("2380"))


def test_a_payment_of_a_paid_invoice_is_still_refused(tenant, invoice):
    tenant.client.post("/payments/", {"invoice": invoice.id})

    response = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "10"})

    # Paying an invoice twice is a mistake to point out, not credit to keep.
    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_payable"


def test_a_refund_of_an_overpayment_gives_the_excess_back_first(tenant, invoice):
    payment = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "1500"}).json()

    first = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "200"})

    assert first.status_code == 200, first.content
    # The excess covers the refund: the invoice stays paid.
    shown = _get(tenant, f"/invoices/{invoice.id}/")
    assert (shown["status"], shown["amount_due"]) == ("paid", D("0"))
    assert _aggregations(tenant, invoice) == (D("110"), D("-110"))

    second = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "300"})

    assert second.status_code == 200, second.content
    # 110 finishes the excess, the other 190 comes off the invoice.
    shown = _get(tenant, f"/invoices/{invoice.id}/")
    assert (shown["status"], shown["amount_due"]) == ("finalized", D("190"))
    assert _aggregations(tenant, invoice) == (D("0"), D("190"))
    assert _entries(tenant, invoice) == [
        ("refund", D("-110"), None),
        ("refund", D("-200"), None),
        ("payment", D("310"), None),
    ]


def test_the_credit_of_an_overpayment_counts_against_the_next_invoice(tenant, invoice):
    tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "1500"})

    following = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)

    # As a credit note's credit: the customer's balance nets it, the invoice still shows
    # what it owes (credit is not applied to invoices automatically) and a payment of
    # the rest settles it.
    assert _aggregations(tenant, invoice) == (D("310"), D("880"))
    assert _get(tenant, f"/invoices/{following.id}/")["amount_due"] == D("1190")


def test_a_card_charged_above_the_amount_due_leaves_the_excess_once_it_succeeds(tenant, invoice):
    waiting = tenant.client.post(
        "/payments/",
        {"invoice": invoice.id, "amount": "1300", "status": "requires_payment_method"},
    ).json()
    # Nothing is received yet: no credit.
    assert _aggregations(tenant, invoice) == (D("0"), D("1190"))
    source = tenant.client.post(
        "/sources/",
        {"customer": invoice.customer_id, "usage": "reusable",
         "card": {"number": sandbox.SUCCEEDS, "exp_month": 12, "exp_year": 2034}},
        format="json",
    ).json()  # fmt: skip

    response = tenant.client.post(f"/payments/{waiting['id']}/authorize/", {"source": source["id"]})

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["amount"]) == ("succeeded", D("1300"))
    assert _get(tenant, f"/invoices/{invoice.id}/")["status"] == "paid"
    assert _aggregations(tenant, invoice) == (D("110"), D("-110"))
