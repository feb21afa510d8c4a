"""Ids and codes in request bodies that do not resolve, or that contradict the object they
go with, are a 400 on their field, never silently dropped."""

import pytest

from catalog.tests.factories import PlanFactory, ProductFactory
from customers.tests.factories import CustomerFactory
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


def _invoice_body(customer):  # type: ignore[no-untyped-def]
    return {
        "customer": customer, "document": 33, "date": "2026-03-31",
        "lines": [{"name": "Plan", "amount": "1000"}],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "received"),
    [(lambda id: [id], "list"), (lambda id: {"id": id}, "object"), (lambda id: True, "boolean")],
    ids=["list", "object", "boolean"],
)
def test_an_id_sent_as_another_json_type_is_an_incorrect_type_on_every_relation(  # type: ignore[no-untyped-def]
    tenant, sent, received
) -> None:
    customer = CustomerFactory(workspace=tenant.workspace)
    plan = PlanFactory(workspace=tenant.workspace)
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    message = [f"Incorrect type. Expected an id, received {received}."]
    calls = [
        ("/invoices/", {**_invoice_body(sent(customer.id))}, {"customer": message}),
        ("/invoices/", {**_invoice_body(customer.id), "document": sent(33)},
         {"document": message}),
        ("/subscriptions/", {"customer": customer.id, "lines": [{"plan": sent(plan.id)}]},
         {"lines": {"0": {"plan": message}}}),
        ("/payments/", {"invoice": sent(invoice.id)}, {"invoice": message}),
    ]  # fmt: skip

    for path, body, errors in calls:
        response = tenant.client.post(path, body, format="json")

        assert response.status_code == 400, (path, response.content)
        assert response.json() == errors, path


def test_an_id_of_the_right_type_that_names_nothing_still_does_not_exist(tenant) -> None:  # type: ignore[no-untyped-def]
    response = tenant.client.post(
        "/invoices/", _invoice_body("cus_01NOSUCHCUSTOMER"), format="json"
    )

    assert response.status_code == 400, response.content
    assert response.json() == {
        "customer": ['Invalid pk "cus_01NOSUCHCUSTOMER" - object does not exist.']
    }


CUSTOMER = {"name": "Andes SpA", "country": "CL", "tax_id": "76086428-5"}


@pytest.mark.parametrize(
    ("path", "field", "base"),
    [
        ("/customers/", "country", CUSTOMER),
        ("/customers/", "state", CUSTOMER),
        ("/customers/", "currency", CUSTOMER),
        ("/suppliers/", "country", CUSTOMER),
        ("/plans/", "currency", {}),
        ("/payments/", "currency", {}),
        ("/orders/", "currency", {}),
    ],
)
def test_a_reference_code_sent_as_another_json_type_is_an_incorrect_type(  # type: ignore[no-untyped-def]
    tenant, path, field, base
) -> None:
    response = tenant.client.post(path, {**base, field: ["CL"]}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()[field] == ["Incorrect type. Expected a code, received list."]


@pytest.mark.parametrize(
    ("field", "sent", "message"),
    [
        ("country", 152, "Object with code=152 does not exist."),
        ("currency", 152, "Object with code=152 does not exist."),
        ("state", 999999, "Object with id=999999 does not exist."),
    ],
)
def test_a_reference_code_sent_as_a_number_is_looked_up_as_its_text(  # type: ignore[no-untyped-def]
    tenant, field, sent, message
) -> None:
    # A number is a code's text (a comuna's, a state's id); one that names nothing is
    # refused naming it, as a code sent as text is.
    response = tenant.client.post("/customers/", {**CUSTOMER, field: sent}, format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {field: [message]}


def test_an_orders_currency_is_accepted_in_any_case_as_every_code(tenant) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=tenant.workspace)
    body = {"customer": customer.id, "currency": "clp", "lines": [{"name": "A", "amount": 1}]}

    response = tenant.client.post("/orders/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "CLP"
