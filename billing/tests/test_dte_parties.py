"""What the SII's schemas require of a DTE's parties that their records may leave blank.
The issuer is the workspace as it is now, so its DTE answers 409 until it is completed;
the receiver is frozen at finalize, so finalize refuses one the DTE cannot name."""

import datetime
from decimal import Decimal

import pytest

from billing.errors import DomainError
from billing.models import DocumentType, NumberSequence
from billing.tax_agency.sandbox import ACCEPTED_UPLOAD, validate
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.services.filing import HELD_BACK_WAIT, tax_agency_attempt, tax_document
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.services.notes import credit_note_create, note_finalize
from invoices.tests.dte_helpers import load_cafs, valid_dte
from invoices.tests.pdf_helpers import NOW, make_customer, make_draft, make_issuer
from procurement.models import Purchase
from procurement.services.purchases import purchase_create, purchase_finalize
from procurement.tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

DATE = datetime.date(2026, 3, 31)
LINES = [{"name": "Consultoría", "amount": Decimal(10000)}]


@pytest.fixture
def issuer(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    return tenant.workspace


def without_activity(workspace) -> None:
    workspace.activity_description = ""
    workspace.activity_code = None
    workspace.save()


def sale(workspace, document: int, customer) -> Invoice:
    draft = invoice_create(
        workspace=workspace,
        test_mode=False,
        customer=customer,
        document=DocumentType.objects.get(pk=document),
        date=DATE,
        lines=LINES,
    )
    return invoice_finalize(invoice=draft, now=NOW)


def no_folio_taken(workspace, code: int) -> bool:
    return not NumberSequence.objects.filter(
        workspace=workspace, document_type_id=code, last_number__gt=0
    ).exists()


def test_a_dte_of_an_issuer_without_giro_or_acteco_is_a_409_naming_them(tenant, issuer):
    invoice = sale(issuer, 33, make_customer(issuer))
    without_activity(issuer)

    response = tenant.client.get(f"/invoices/{invoice.id}/xml/")

    assert response.status_code == 409, response.content
    error = response.json()
    assert error["code"] == "dte_issuer_incomplete"
    assert "activity_description" in error["detail"]
    assert "activity_code" in error["detail"]
    with pytest.raises(DomainError, match="activity_description"):
        tax_document(Invoice.objects.get(pk=invoice.id))  # what the agency is sent


def test_the_filing_waits_for_the_issuer_to_be_completed(issuer):
    without_activity(issuer)
    invoice = sale(issuer, 33, make_customer(issuer))

    assert tax_agency_attempt(document_id=invoice.id, clock=lambda: NOW) is None

    invoice.refresh_from_db()
    assert invoice.biller_status == "pending"
    assert invoice.tax_agency["last_error"]["code"] == "dte_issuer_incomplete"
    assert "activity_code" in invoice.tax_agency["last_error"]["message"]
    assert invoice.biller_next_attempt_at == NOW + HELD_BACK_WAIT
    make_issuer(issuer)
    later = NOW + HELD_BACK_WAIT

    assert tax_agency_attempt(document_id=invoice.id, clock=lambda: later) is not None

    invoice.refresh_from_db()
    assert invoice.biller_status == "processing", invoice.tax_agency


def test_the_issuer_completed_after_finalize_gives_a_valid_dte(tenant, issuer):
    without_activity(issuer)
    invoice = sale(issuer, 33, make_customer(issuer))
    assert tenant.client.get(f"/invoices/{invoice.id}/xml/").status_code == 409

    make_issuer(issuer)
    response = tenant.client.get(f"/invoices/{invoice.id}/xml/")

    assert response.status_code == 200, response.content
    valid_dte(response.content)


def test_one_missing_field_is_named_alone(tenant, issuer):
    invoice = sale(issuer, 33, make_customer(issuer))
    issuer.activity_code = None
    issuer.save()

    error = tenant.client.get(f"/invoices/{invoice.id}/xml/").json()

    assert error["code"] == "dte_issuer_incomplete"
    assert "activity_code" in error["detail"]
    assert "activity_description" not in error["detail"]


def test_an_exports_dte_needs_the_giro_and_acteco_too(tenant, issuer):
    invoice = sale(issuer, 110, CustomerFactory(workspace=issuer, country_id="US", tax_id=""))
    without_activity(issuer)

    response = tenant.client.get(f"/invoices/{invoice.id}/xml/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "dte_issuer_incomplete"


def test_a_boleta_needs_neither_giro_nor_acteco(tenant, issuer):
    without_activity(issuer)
    invoice = sale(issuer, 39, CustomerFactory(workspace=issuer, tax_id=""))

    response = tenant.client.get(f"/invoices/{invoice.id}/xml/")

    assert response.status_code == 200, response.content
    valid_dte(response.content)


def test_a_factura_to_a_chilean_customer_without_a_tax_id_takes_no_folio(tenant, issuer):
    customer = CustomerFactory(workspace=issuer, tax_id="")
    draft = make_draft(issuer, customer)

    response = tenant.client.post(f"/invoices/{draft.id}/finalize/")

    assert response.status_code == 409, response.json()
    error = response.json()
    assert error["code"] == "dte_receiver_tax_id_missing"
    assert customer.id in error["detail"]
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)
    assert no_folio_taken(issuer, 33)


def test_a_boleta_and_its_note_may_go_to_a_buyer_without_a_tax_id(tenant, issuer):
    boleta = sale(issuer, 39, CustomerFactory(workspace=issuer, tax_id=""))
    note = credit_note_create(
        workspace=issuer,
        test_mode=False,
        invoice=boleta,
        reason=3,
        now=NOW,
        date=DATE,
        description="Devolución",
        lines=[{"name": "Devolución", "amount": Decimal(1000)}],
    )

    note = note_finalize(note=note, now=NOW)

    response = tenant.client.get(f"/creditnotes/{note.id}/xml/")
    assert response.status_code == 200, response.content
    valid_dte(response.content)


def test_the_sandbox_accepts_a_note_on_a_boleta_to_a_buyer_without_a_tax_id(issuer):
    buyer = CustomerFactory(workspace=issuer, tax_id="")
    assert buyer.country_id == "CL"
    boleta = sale(issuer, 39, buyer)
    note = credit_note_create(
        workspace=issuer,
        test_mode=False,
        invoice=boleta,
        reason=3,
        now=NOW,
        date=DATE,
        description="Devolución",
        lines=[{"name": "Devolución", "amount": Decimal(1000)}],
    )
    note = note_finalize(note=note, now=NOW)

    assert validate(tax_document(note), now=NOW) == (ACCEPTED_UPLOAD, [])


def test_a_factura_de_compra_for_a_supplier_without_a_tax_id_takes_no_folio(tenant, issuer):
    draft = purchase_create(
        workspace=issuer,
        test_mode=False,
        supplier=SupplierFactory(workspace=issuer, tax_id=""),
        document=DocumentType.objects.get(pk=46),
        date=DATE,
        lines=LINES,
    )

    with pytest.raises(DomainError) as error:
        purchase_finalize(purchase=draft, now=NOW)

    assert error.value.code == "dte_receiver_tax_id_missing"
    assert Purchase.objects.get(pk=draft.pk).number is None
    assert no_folio_taken(issuer, 46)
