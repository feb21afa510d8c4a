"""`?expand=customer` shows the customer object in place of its id, as Piriod's clients
ask for it, on every resource whose objects name a customer (billing.representations)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import Tenant
from tests.factories import (
    CreditNoteFactory,
    CustomerFactory,
    FinalizedInvoiceFactory,
    OrderFactory,
    PaymentFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

RESOURCES = [
    ("invoices", FinalizedInvoiceFactory),
    ("creditnotes", CreditNoteFactory),
    ("orders", OrderFactory),
    ("subscriptions", SubscriptionFactory),
    ("payments", PaymentFactory),
]


@pytest.mark.parametrize(("path", "factory"), RESOURCES)
def test_expand_customer_shows_the_customer_in_retrieve_and_list(
    tenant: Tenant, path, factory
) -> None:
    obj = factory(workspace=tenant.workspace)
    customer_id = obj.customer_id

    plain = tenant.client.get(f"/{path}/{obj.pk}/")
    retrieved = tenant.client.get(f"/{path}/{obj.pk}/", {"expand": "customer"})
    listed = tenant.client.get(f"/{path}/", {"expand": "customer"})
    shown = tenant.client.get(f"/customers/{customer_id}/").json()

    assert plain.json()["customer"] == customer_id
    assert retrieved.status_code == 200, retrieved.json()
    assert retrieved.json()["customer"] == shown
    assert listed.json()["results"][0]["customer"] == shown
    assert {k: v for k, v in retrieved.json().items() if k != "customer"} == {
        k: v for k, v in plain.json().items() if k != "customer"
    }


def test_a_write_answers_with_the_customer_expanded_too(tenant: Tenant) -> None:
    customer = CustomerFactory(workspace=tenant.workspace)

    created = tenant.client.post(
        "/invoices/?expand=customer",
        {
            "customer": customer.id,
            "document": 33,
            "date": "2026-03-31",
            "lines": [{"name": "X", "amount": 1000}],
        },
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["customer"]["id"] == customer.id
    assert created.json()["customer"]["name"] == customer.name


def test_a_page_reads_each_customer_once_whatever_the_rows_naming_it(tenant: Tenant) -> None:
    customer = CustomerFactory(workspace=tenant.workspace)

    def queries(rows: int) -> int:
        for _ in range(rows):
            FinalizedInvoiceFactory(workspace=tenant.workspace, customer=customer)
        with CaptureQueriesContext(connection) as captured:
            response = tenant.client.get("/invoices/", {"expand": "customer"})
        assert response.status_code == 200
        return len(captured)

    assert queries(2) == queries(4)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/invoices/", {"expand": "supplier"}),
        ("/invoices/", {"expand": "customer,lines"}),
        ("/products/", {"expand": "customer"}),
    ],
)
def test_what_cannot_be_expanded_is_a_400_on_expand(tenant: Tenant, path, query) -> None:
    response = tenant.client.get(path, query)

    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["expand"]


def test_openapi_offers_expand_and_types_the_field_as_either(tenant: Tenant) -> None:
    document = tenant.client.get("/openapi.json").json()

    parameters = document["paths"]["/invoices/{id}/"]["get"]["parameters"]
    expand = next(p for p in parameters if p["name"] == "expand")
    customer = document["components"]["schemas"]["Invoice"]["properties"]["customer"]
    assert expand["schema"] == {"type": "string", "enum": ["customer"]}
    assert {"$ref": "#/components/schemas/Customer"} in customer["oneOf"]


def test_stripes_spelling_of_expand_works_too(tenant: Tenant) -> None:
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)

    response = tenant.client.get(f"/invoices/{invoice.pk}/", {"expand[]": "customer"})

    assert response.json()["customer"]["id"] == invoice.customer_id
