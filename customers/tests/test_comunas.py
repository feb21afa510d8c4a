"""A Chilean address may name its comuna (the SII's CmnaRecep), for customers and suppliers.

Optional, as Piriod's clients send none; when given it must agree with the country and the
region, and it fills in the region."""

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from procurement.models import Supplier
from procurement.tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Aromos Ltda.", "country": "CL", "tax_id": "77123456-9"}


def test_a_chilean_address_without_its_comuna_is_accepted_as_piriod_sends_it(tenant):
    response = tenant.client.post(
        "/customers/", {**CUSTOMER, "address": "Los Carrera 455"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["comuna"] is None


def test_a_comuna_fills_in_its_region(tenant):
    response = tenant.client.post(
        "/customers/",
        {**CUSTOMER, "address": "Los Carrera 455", "comuna": "05101"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["comuna"], response.json()["state"]) == ("05101", "CL-VS")


def test_a_customer_without_an_address_needs_no_comuna(tenant):
    # A boleta's final consumer, say.
    response = tenant.client.post("/customers/", CUSTOMER, format="json")

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"address": "Los Carrera 455", "comuna": "05101", "state": "CL-RM"},  # not its region
        {"country": "AR", "tax_id": "", "address": "Florida 100", "comuna": "13101"},
    ],
)
def test_a_comuna_must_agree_with_the_region_and_the_country(tenant, body):
    response = tenant.client.post("/customers/", {**CUSTOMER, **body}, format="json")

    assert response.status_code == 400, response.json()
    assert "comuna" in response.json()


def test_a_customer_without_a_comuna_stays_editable_and_can_be_given_one(tenant):
    older = CustomerFactory(workspace=tenant.workspace, address="Los Carrera 455")

    email = tenant.client.patch(
        f"/customers/{older.id}/", {"email": "pagos@aromos.cl"}, format="json"
    )
    moved = tenant.client.patch(f"/customers/{older.id}/", {"address": "Prat 12"}, format="json")
    completed = tenant.client.patch(
        f"/customers/{older.id}/", {"address": "Prat 12", "comuna": "05101"}, format="json"
    )

    assert email.status_code == 200, email.json()
    assert moved.status_code == 200, moved.json()
    assert completed.status_code == 200, completed.json()
    assert Customer.objects.get(pk=older.id).comuna_id == "05101"


def test_suppliers_name_their_comuna_too(tenant):
    without = tenant.client.post(
        "/suppliers/",
        {"name": "Imprenta", "country": "CL", "tax_id": "77123456-9", "address": "Prat 12"},
        format="json",
    )
    created = tenant.client.post(
        "/suppliers/",
        {
            "name": "Imprenta",
            "country": "CL",
            "tax_id": "77123456-9",
            "address": "Prat 12",
            "comuna": "13101",
        },
        format="json",
    )
    older = SupplierFactory(workspace=tenant.workspace, address="Prat 12")
    edited = tenant.client.patch(f"/suppliers/{older.id}/", {"phone": "+56 2 2345 6789"})

    assert without.status_code == 201, without.json()
    assert created.status_code == 201, created.json()
    assert (created.json()["comuna"], created.json()["state"]) == ("13101", "CL-RM")
    assert edited.status_code == 200, edited.json()
    assert Supplier.objects.get(pk=older.id).phone == "+56 2 2345 6789"


@pytest.mark.parametrize(
    ("sent", "code", "region"),
    [(13114, "13114", "CL-RM"), (5101, "05101", "CL-VS"), ("5101", "05101", "CL-VS")],
    ids=["number", "number-without-its-leading-zero", "text-without-its-leading-zero"],
)
def test_a_comuna_code_may_be_sent_as_a_number(tenant, sent, code, region):
    # As its help text writes it (13101 Santiago), and as Piriod's clients may send it; a
    # JSON number cannot keep the leading zero of Valparaíso's 05101.
    body = {"address": "Prat 12", "comuna": sent}
    customer = tenant.client.post("/customers/", {**CUSTOMER, **body}, format="json")
    supplier = tenant.client.post("/suppliers/", {**CUSTOMER, **body}, format="json")
    issuer = tenant.client.patch(f"/workspaces/{tenant.workspace.id}/", body, format="json")

    for response in (customer, supplier):
        assert response.status_code == 201, response.json()
        assert (response.json()["comuna"], response.json()["state"]) == (code, region)
    assert issuer.status_code == 200, issuer.json()
    assert issuer.json()["comuna"] == code


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (99999, "Object with code=99999 does not exist."),
        ("99999", "Object with code=99999 does not exist."),
        (["13114"], "Incorrect type. Expected a code, received list."),
        (13114.5, "Incorrect type. Expected a code, received decimal."),
    ],
)
def test_an_unknown_comuna_or_one_of_another_type_is_refused_naming_it(tenant, sent, message):
    body = {"address": "Prat 12", "comuna": sent}
    customer = tenant.client.post("/customers/", {**CUSTOMER, **body}, format="json")
    issuer = tenant.client.patch(f"/workspaces/{tenant.workspace.id}/", body, format="json")

    for response in (customer, issuer):
        assert response.status_code == 400, response.json()
        assert response.json() == {"comuna": [message]}
