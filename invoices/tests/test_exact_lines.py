"""A line priced by a plan's tiers keeps its exact price when the client sends it back."""

from decimal import Decimal

import pytest

from catalog.models import PlanTier
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from tests.numbers import D

pytestmark = pytest.mark.django_db

# README's example: 1-1000 at 0.01 plus 10.00, 1001-10000 at 0.008, then 0.005; 999,999
# units add up to 5,041.995 USD, 5,042.00, while 0.005042 × 999,999 = 5,041.99.
TIERS = [(1000, "0.01", "10"), (10000, "0.008", "0"), (None, "0.005", "0")]


def tiered_invoice(tenant):
    """A draft export invoice in dollars with one line of 999,999 units of the plan."""
    customer = CustomerFactory(
        workspace=tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )
    plan = PlanFactory(
        workspace=tenant.workspace, currency_id="USD", tiers_mode="range", amount=Decimal(0)
    )
    for position, (up_to, amount, flat) in enumerate(TIERS):
        PlanTier.objects.create(
            plan=plan, position=position, up_to=up_to, amount=D(amount), flat_amount=D(flat)
        )
    order = tenant.client.post(
        "/orders/",
        {"customer": customer.id, "document": 110,
         "items": [{"plan": plan.id, "quantity": "999999"}]},
        format="json",
    ).json()  # fmt: skip
    tenant.client.post(f"/orders/{order['id']}/confirm/")
    invoiced = tenant.client.post(f"/orders/{order['id']}/invoice/").json()
    return tenant.client.get(f"/invoices/{invoiced['invoice']}/").json()


def without_ids(lines):
    return [{k: v for k, v in line.items() if k != "id"} for line in lines]


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("send", [list, without_ids], ids=["with_ids", "without_ids"])
def test_a_tiered_line_sent_back_keeps_its_exact_total(tenant, method, send):
    invoice = tiered_invoice(tenant)
    assert (invoice["lines"][0]["amount"], invoice["total"]) == (D("0.005042"), D("5042"))

    body = {"lines": send(invoice["lines"])}
    if method == "put":
        body = {k: v for k, v in invoice.items() if k != "lines"} | body
    response = getattr(tenant.client, method)(f"/invoices/{invoice['id']}/", body, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["lines"][0]["total"], response.json()["total"]) == (
        D("5042"),
        D("5042"),
    )
    if send is list:  # the same lines, kept as they are
        assert response.json()["lines"][0]["id"] == invoice["lines"][0]["id"]


def test_a_tiered_line_sent_with_another_quantity_is_priced_as_sent(tenant):
    invoice = tiered_invoice(tenant)
    line = without_ids(invoice["lines"])[0] | {"quantity": "1000"}

    response = tenant.client.patch(f"/invoices/{invoice['id']}/", {"lines": [line]}, format="json")

    # The tiers' price no longer applies: the unit price sent, × the quantity sent.
    assert response.status_code == 200, response.json()
    assert response.json()["total"] == D("5.04")


# What a note's line shows of an invoice line: everything but its plan and type, which a
# note's lines do not have (a body naming them is a 400).
NOTE_LINE_HIDES = ("id", "plan", "line_type", "total", "retention", "additional_tax_percent")


def as_note_line(line):
    return {k: v for k, v in line.items() if k not in NOTE_LINE_HIDES}


def finalized_tiered_invoice(tenant):
    invoice = tiered_invoice(tenant)
    response = tenant.client.post(f"/invoices/{invoice['id']}/finalize/")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.mark.parametrize("resource", ["creditnotes", "debitnotes"])
def test_a_note_copying_a_tiered_invoice_line_keeps_its_exact_total(tenant, resource):
    invoice = finalized_tiered_invoice(tenant)
    line = as_note_line(invoice["lines"][0])

    response = tenant.client.post(
        f"/{resource}/",
        {"invoice": invoice["id"], "reason": 3, "description": "Ajuste", "lines": [line]},
        format="json",
    )

    # 999,999 units of the README's plan are 5,042.00 USD, not 0.005042 × 999,999 = 5,041.99.
    assert response.status_code == 201, response.json()
    note = response.json()
    assert (note["lines"][0]["total"], note["total"]) == (D("5042"), D("5042"))

    # The draft sent back as it reads keeps it too.
    sent_back = tenant.client.patch(
        f"/{resource}/{note['id']}/", {"lines": [as_note_line(note["lines"][0])]}, format="json"
    )
    assert sent_back.status_code == 200, sent_back.json()
    assert sent_back.json()["total"] == D("5042")


def test_a_note_line_with_another_quantity_is_priced_as_sent(tenant):
    invoice = finalized_tiered_invoice(tenant)
    line = as_note_line(invoice["lines"][0]) | {"quantity": "1000"}

    response = tenant.client.post(
        "/creditnotes/",
        {"invoice": invoice["id"], "reason": 3, "description": "Ajuste", "lines": [line]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["total"] == D("5.04")  # 0.005042 × 1,000


def test_an_annulling_note_of_a_tiered_invoice_is_accepted_put_back(tenant):
    invoice = finalized_tiered_invoice(tenant)
    note = tenant.client.post(
        "/creditnotes/", {"invoice": invoice["id"], "reason": 1}, format="json"
    ).json()
    assert note["total"] == D("5042")

    body = {k: v for k, v in note.items() if k != "lines"} | {
        "lines": [as_note_line(line) for line in note["lines"]]
    }
    response = tenant.client.put(f"/creditnotes/{note['id']}/", body, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["total"] == D("5042")
