"""`/orgunits/`, `/banks/`, `/billers/built_in/`, and `/ops/`'s JSON 404."""

import pytest

from customers.tests.factories import ContactFactory, CustomerFactory
from invoices.models import Invoice
from organization.tests.factories import BankAccountFactory, OrgUnitFactory
from procurement.tests.factories import SupplierFactory
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db


def test_an_orgunit_is_created_listed_renamed_and_deleted(tenant):
    created = tenant.client.post(
        "/orgunits/",
        {"name": "Sucursal Centro", "address": "Huérfanos 1160", "sii_branch_code": "81234567"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    unit = created.json()
    assert unit["id"].startswith("ou_")

    renamed = tenant.client.put(f"/orgunits/{unit['id']}/", {"name": "Centro"}, format="json")
    listed = tenant.client.get("/orgunits/", {"sii_branch_code": "81234567"})
    deleted = tenant.client.delete(f"/orgunits/{unit['id']}/")

    assert (renamed.json()["name"], renamed.json()["address"]) == ("Centro", "Huérfanos 1160")
    assert [row["id"] for row in listed.json()["results"]] == [unit["id"]]
    assert deleted.status_code == 204


def test_an_orgunit_names_its_comuna_by_code(tenant):
    created = tenant.client.post(
        "/orgunits/",
        {"name": "Centro", "address": "Huérfanos 1160", "comuna": "13101"},
        format="json",
    )
    unknown = tenant.client.post("/orgunits/", {"name": "Centro", "comuna": "99999"}, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["comuna"] == "13101"
    assert unknown.status_code == 400
    assert "comuna" in unknown.json()


# Other scripts' digits and superscripts are digits to Python, not to the SII; the DTE's
# CdgSIISucur is a positive integer.
@pytest.mark.parametrize("code", ["81-234", "A1", "１２３", "٣", "²", "0", "000"])
def test_a_branch_code_is_digits(tenant, code):
    response = tenant.client.post(
        "/orgunits/", {"name": "Norte", "sii_branch_code": code}, format="json"
    )

    assert response.status_code == 400
    assert "sii_branch_code" in response.json()


def test_a_branch_code_is_unique_in_the_workspace_but_not_across(tenant, other_tenant):
    OrgUnitFactory(workspace=tenant.workspace, sii_branch_code="777")
    OrgUnitFactory(workspace=other_tenant.workspace, sii_branch_code="778")

    again = tenant.client.post(
        "/orgunits/", {"name": "Otra", "sii_branch_code": "777"}, format="json"
    )
    elsewhere = tenant.client.post(
        "/orgunits/", {"name": "Otra", "sii_branch_code": "778"}, format="json"
    )

    assert again.status_code == 400
    assert "sii_branch_code" in again.json()
    assert elsewhere.status_code == 201


def test_an_invoice_names_its_orgunit_which_is_then_kept(tenant, other_tenant):
    unit = OrgUnitFactory(workspace=tenant.workspace)
    foreign = OrgUnitFactory(workspace=other_tenant.workspace)
    customer = CustomerFactory(workspace=tenant.workspace)
    body = {
        "customer": customer.id,
        "document": 33,
        "date": "2026-03-02",
        "lines": [{"name": "Servicio", "amount": 1000}],
    }

    created = tenant.client.post("/invoices/", {**body, "orgunit": unit.id}, format="json")
    refused = tenant.client.post("/invoices/", {**body, "orgunit": foreign.id}, format="json")
    kept = tenant.client.delete(f"/orgunits/{unit.id}/")

    assert created.status_code == 201, created.json()
    assert created.json()["orgunit"] == unit.id
    assert Invoice.objects.get(pk=created.json()["id"]).orgunit_id == unit.id
    assert refused.status_code == 400
    assert "orgunit" in refused.json()
    assert (kept.status_code, kept.json()["code"]) == (409, "orgunit_in_use")


def test_an_orgunit_a_contact_names_is_kept_and_the_answer_says_so(tenant):
    unit = OrgUnitFactory(workspace=tenant.workspace)
    ContactFactory(workspace=tenant.workspace, orgunit=unit)

    kept = tenant.client.delete(f"/orgunits/{unit.id}/")

    assert (kept.status_code, kept.json()["code"]) == (409, "orgunit_in_use")
    assert "contacts" in kept.json()["detail"]


def test_a_bank_account_takes_the_workspace_currency_and_is_not_recorded_twice(tenant):
    body = {"bank_name": "Banco Estado", "account_type": "sight", "account_number": "12345678"}

    created = tenant.client.post("/banks/", body, format="json")
    twice = tenant.client.post("/banks/", body, format="json")
    updated = tenant.client.put(
        f"/banks/{created.json()['id']}/", {"holder_name": "Acme SpA"}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert (created.json()["currency"], created.json()["on_documents"]) == ("CLP", True)
    assert twice.status_code == 400
    assert "account_number" in twice.json()
    assert (updated.json()["holder_name"], updated.json()["account_number"]) == (
        "Acme SpA",
        "12345678",
    )


def test_a_bank_account_holder_s_rut_is_validated_and_stored_in_the_sii_s_notation(tenant):
    body = {"bank_name": "BCI", "account_type": "checking", "account_number": "9"}

    wrong = tenant.client.post(
        "/banks/", {**body, "account_number": "8", "holder_tax_id": "76086428-4"}, format="json"
    )
    created = tenant.client.post(
        "/banks/", {**body, "holder_tax_id": "76.086.428-5"}, format="json"
    )
    changed = tenant.client.put(
        f"/banks/{created.json()['id']}/", {"holder_tax_id": "12.345.678-9"}, format="json"
    )

    assert wrong.status_code == 400
    assert wrong.json()["holder_tax_id"] == ["The check digit does not match."]
    assert created.status_code == 201, created.json()
    assert created.json()["holder_tax_id"] == "76086428-5"
    assert changed.status_code == 400
    assert list(changed.json()) == ["holder_tax_id"]


def test_a_bank_account_of_an_unknown_type_is_400(tenant):
    response = tenant.client.post(
        "/banks/",
        {"bank_name": "BCI", "account_type": "piggy", "account_number": "1"},
        format="json",
    )

    assert response.status_code == 400
    assert "account_type" in response.json()


def test_the_biller_connection_is_one_per_mode_and_configurable(tenant):
    created = tenant.client.post("/billers/built_in/", {}, format="json")
    twice = tenant.client.post("/billers/built_in/", {}, format="json")
    biller = created.json()
    production = tenant.client.put(
        f"/billers/built_in/{biller['id']}/", {"environment": "production"}, format="json"
    )
    listed = tenant.client.get("/billers/built_in/")

    assert created.status_code == 201, biller
    assert (biller["backend"], biller["environment"], biller["status"]) == (
        "sandbox",
        "certification",
        "active",
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "biller_exists")
    assert production.json()["environment"] == "production"
    assert [row["id"] for row in listed.json()["results"]] == [biller["id"]]


@pytest.mark.parametrize("value", ["abc", 5, [1], None])
def test_the_biller_settings_are_an_object(tenant, value):
    refused = tenant.client.post("/billers/built_in/", {"settings": value}, format="json")
    created = tenant.client.post(
        "/billers/built_in/",
        {"settings": {"branch": 1, "nested": {"a": [1.5]}, "off": None}},
        format="json",
    )

    assert refused.status_code == 400, refused.json()
    assert "settings" in refused.json()
    assert created.status_code == 201, created.json()
    assert created.json()["settings"] == {"branch": 1, "nested": {"a": [1.5]}, "off": None}


def test_test_mode_never_connects_to_the_agencys_production(db):
    tester = make_tenant(test_mode=True)

    response = tester.client.post(
        "/billers/built_in/", {"environment": "production"}, format="json"
    )

    assert response.status_code == 400
    assert "environment" in response.json()


@pytest.mark.parametrize("path", ["/ops/", "/ops/op_1/", "/ops/op_1/run/"])
def test_ops_is_a_json_404_that_says_why(tenant, path):
    response = tenant.client.get(path)

    assert response.status_code == 404
    assert response["content-type"] == "application/json"
    assert response.json()["code"] == "resource_not_available"
    assert "not described in Piriod's public documentation" in response.json()["detail"]


def test_a_bank_account_s_currency_is_a_code_in_any_case(tenant):
    created = tenant.client.post(
        "/banks/",
        {"bank_name": "Banco de Chile", "account_number": "001", "currency": "usd"},
        format="json",
    )
    unknown = tenant.client.post(
        "/banks/",
        {"bank_name": "Banco de Chile", "account_number": "002", "currency": 5},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["currency"] == "USD"
    assert unknown.status_code == 400
    assert "currency" in unknown.json()


# A code in a filter is read as a body reads it: in any case.
@pytest.mark.parametrize(
    "query",
    ["/banks/?currency=clp", "/invoices/?currency=clp", "/orders/?currency=clp",
     "/payments/?currency=clp", "/suppliers/?country=cl", "/taxes/?country=cl"],
)  # fmt: skip
def test_a_reference_code_filters_in_any_case(tenant, query):
    BankAccountFactory(workspace=tenant.workspace)
    SupplierFactory(workspace=tenant.workspace)
    path, param = query.split("?")
    upper = tenant.client.get(f"{path}?{param.split('=')[0]}={param.split('=')[1].upper()}")
    lower = tenant.client.get(query)

    assert upper.status_code == 200, upper.json()
    assert (lower.status_code, lower.json()) == (200, upper.json())
