"""Chile's document rules on sales (rules.md §8): boletas priced gross, export documents
for buyers abroad only, in the sale's currency."""

from decimal import Decimal

import pytest

from billing.tax_agency.sandbox import ACCEPTED_UPLOAD, validate
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.services.filing import tax_document

pytestmark = pytest.mark.django_db


def body(customer, document, lines):
    return {"customer": customer.id, "document": document, "date": "2026-03-31", "lines": lines}


def test_a_boleta_price_includes_the_iva(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)

    response = tenant.client.post(
        "/invoices/",
        body(customer, 39, [{"name": "Café", "amount": "2500", "quantity": "4"}]),
        format="json",
    )

    assert response.status_code == 201, response.json()
    boleta = response.json()
    # 10.000 gross: neto = round(10.000 / 1,19) = 8.403, IVA = 1.597.
    assert Decimal(str(boleta["amount"])) == Decimal("8403")
    assert Decimal(str(boleta["tax"])) == Decimal("1597")
    assert Decimal(str(boleta["total"])) == Decimal("10000")


def test_a_boleta_exenta_total_is_its_price(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)

    response = tenant.client.post(
        "/invoices/", body(customer, 41, [{"name": "Curso", "amount": "10000"}]), format="json"
    )

    assert response.status_code == 201, response.json()
    assert Decimal(str(response.json()["tax"])) == 0
    assert Decimal(str(response.json()["total"])) == Decimal("10000")


def test_a_finalized_boleta_is_accepted_by_the_sandbox_agency(tenant):
    tenant.workspace.tax_id = "76086428-5"
    tenant.workspace.save()
    customer = CustomerFactory(workspace=tenant.workspace)
    created = tenant.client.post(
        "/invoices/",
        body(customer, 39, [{"name": "Café", "amount": "2500", "quantity": "4"}]),
        format="json",
    ).json()
    finalized = tenant.client.post(f"/invoices/{created['id']}/finalize/")
    assert finalized.status_code == 200, finalized.json()

    document = tax_document(Invoice.objects.get(pk=created["id"]))
    upload_status, reasons = validate(document, now=Invoice.objects.get().finalized_at)

    assert (upload_status, reasons) == (ACCEPTED_UPLOAD, [])


def test_an_export_invoice_to_a_chilean_buyer_is_refused(tenant):
    chilean = CustomerFactory(workspace=tenant.workspace, currency_id="USD")

    response = tenant.client.post(
        "/invoices/", body(chilean, 110, [{"name": "Licencia", "amount": "100"}]), format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "export_to_national_buyer"
    assert not Invoice.objects.exists()


def test_an_export_invoice_is_in_the_sales_currency(tenant):
    german = CustomerFactory(
        workspace=tenant.workspace, country_id="DE", currency_id="EUR", tax_id=""
    )

    response = tenant.client.post(
        "/invoices/", body(german, 110, [{"name": "Lizenz", "amount": "99.50"}]), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["currency"] == "EUR"
    assert Decimal(str(response.json()["total"])) == Decimal("99.50")


def test_an_export_draft_moved_to_a_chilean_buyer_is_refused(tenant):
    german = CustomerFactory(
        workspace=tenant.workspace, country_id="DE", currency_id="USD", tax_id=""
    )
    chilean = CustomerFactory(workspace=tenant.workspace, currency_id="USD")
    export = tenant.client.post(
        "/invoices/", body(german, 110, [{"name": "Licencia", "amount": "100"}]), format="json"
    ).json()

    response = tenant.client.patch(
        f"/invoices/{export['id']}/", {"customer": chilean.id}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "export_to_national_buyer"
