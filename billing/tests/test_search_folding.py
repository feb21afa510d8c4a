"""`?search=` compares text folded: case and accents aside, as people type a name."""

import pytest

from customers.tests.factories import CustomerFactory
from invoices.tests.factories import InvoiceFactory


@pytest.mark.parametrize("term", ["ñandu", "ÑANDÚ", "nandu", "Ñandú", "andú"])
def test_a_customer_is_found_whatever_the_case_and_accents_of_the_term(tenant, term):
    customer = CustomerFactory(workspace=tenant.workspace, name="Ñandú Ltda.")
    CustomerFactory(workspace=tenant.workspace, name="Avestruz SpA")

    response = tenant.client.get("/customers/", {"search": term})

    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()["results"]] == [customer.pk]


def test_the_search_of_a_related_field_is_folded_too(tenant):
    customer = CustomerFactory(workspace=tenant.workspace, name="Panadería Ñuñoa")
    invoice = InvoiceFactory(workspace=tenant.workspace, customer=customer)

    response = tenant.client.get("/invoices/", {"search": "PANADERIA NUNOA"})

    assert [row["id"] for row in response.json()["results"]] == [invoice.pk]


def test_like_wildcards_in_the_term_match_only_themselves(tenant):
    CustomerFactory(workspace=tenant.workspace, name="Año Nuevo")

    assert tenant.client.get("/customers/", {"search": "a%o"}).json()["count"] == 0
    assert tenant.client.get("/customers/", {"search": "an_"}).json()["count"] == 0
