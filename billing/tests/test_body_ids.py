"""Ids and codes in request bodies that do not resolve, or that contradict the object they
go with, are a 400 on their field, never silently dropped."""

import pytest

from catalog.tests.factories import ProductFactory
from invoices.tests.factories import FinalizedInvoiceFactory, OrderFactory
from payments.tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def test_a_plans_meter_must_exist(tenant) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(workspace=tenant.workspace)
    body = {
        "product": product.id, "name": "API calls", "currency": "USD", "amount": "0.01",
        "usage_scheme": "metered", "usage_aggregation": "sum", "meter": "met_01ABC",
    }  # fmt: skip

    response = tenant.client.post("/plans/", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {"meter": ["No meter met_01ABC in this workspace."]}
    del body["meter"]
    assert tenant.client.post("/plans/", body, format="json").status_code == 201


@pytest.mark.parametrize("factory", [FinalizedInvoiceFactory, OrderFactory])
def test_an_intents_currency_must_be_its_documents(tenant, factory) -> None:  # type: ignore[no-untyped-def]
    document = factory(workspace=tenant.workspace)  # in CLP
    field = "invoice" if factory is FinalizedInvoiceFactory else "order"

    wrong = tenant.client.post("/intents/", {field: document.id, "currency": "USD"}, format="json")
    right = tenant.client.post("/intents/", {field: document.id, "currency": "clp"}, format="json")

    assert wrong.status_code == 400, wrong.content
    assert list(wrong.json()) == ["currency"]
    assert right.status_code == 201, right.content
    assert right.json()["currency"] == "CLP"


def test_an_intents_source_must_exist_and_be_the_customers(tenant) -> None:  # type: ignore[no-untyped-def]
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    someone_elses = SourceFactory(workspace=tenant.workspace)
    own = SourceFactory(workspace=tenant.workspace, customer=invoice.customer)

    missing = tenant.client.post(
        "/intents/", {"invoice": invoice.id, "source": "sou_01NOSUCHSOURCE"}, format="json"
    )
    foreign = tenant.client.post(
        "/intents/", {"invoice": invoice.id, "source": someone_elses.id}, format="json"
    )
    created = tenant.client.post(
        "/intents/", {"invoice": invoice.id, "source": own.id}, format="json"
    )

    assert missing.status_code == 400 and list(missing.json()) == ["source"], missing.content
    assert foreign.status_code == 400 and list(foreign.json()) == ["source"], foreign.content
    assert created.status_code == 201, created.content
    assert created.json()["source"] == own.id
