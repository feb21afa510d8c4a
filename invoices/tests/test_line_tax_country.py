"""A line's tax rule is one of its document's country: another country's rate is a 400."""

from decimal import Decimal

import pytest

from catalog.tests.factories import TaxFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from tests.api_errors import field_error
from tests.numbers import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant):
    return CustomerFactory(workspace=tenant.workspace)


def body(customer, tax):
    return {
        "customer": customer.id,
        "document": 33,
        "date": "2026-03-31",
        "lines": [
            {"name": "Plan Pro", "amount": "10000"},
            {"name": "Nueva York", "amount": "10000", "tax": tax.id},
        ],
    }


def test_another_countrys_tax_on_a_chilean_factura_is_400(tenant, customer):
    sales_tax = TaxFactory(
        workspace=tenant.workspace, name="NY sales tax", country_id="US", percent=D("8.875")
    )

    response = tenant.client.post("/invoices/", body(customer, sales_tax), format="json")

    assert response.status_code == 400, response.json()
    assert field_error(response.json(), "lines.1.tax")
    assert not Invoice.objects.exists()


def test_another_countrys_tax_on_a_draft_changes_nothing(tenant, customer):
    sales_tax = TaxFactory(
        workspace=tenant.workspace, name="NY sales tax", country_id="US", percent=D("8.875")
    )
    sent = body(customer, sales_tax)
    draft = tenant.client.post("/invoices/", {**sent, "lines": sent["lines"][:1]}, format="json")
    draft = draft.json()

    response = tenant.client.patch(
        f"/invoices/{draft['id']}/", {"lines": body(customer, sales_tax)["lines"]}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert field_error(response.json(), "lines.1.tax")
    kept = tenant.client.get(f"/invoices/{draft['id']}/").json()
    assert (len(kept["lines"]), kept["total"]) == (1, D("11900"))


def test_a_tax_of_the_documents_country_applies(tenant, customer):
    reduced = TaxFactory(workspace=tenant.workspace, name="Reducido", percent=Decimal(10))

    response = tenant.client.post("/invoices/", body(customer, reduced), format="json")

    # 19% of 10,000 and 10% of 10,000.
    assert response.status_code == 201, response.json()
    assert response.json()["tax"] == D("2900")
