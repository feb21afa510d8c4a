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
