"""The sandbox agency checks a document's DTE as the SII does: schema (RSC), signature
(RFR), then the timbre and that the DTE is the filed document."""

import base64
from datetime import date

import pytest
from lxml import etree

from billing.documents import apply_totals
from billing.models import DocumentType
from billing.services.certificates import certificate_for_signing
from billing.tax_agency.sandbox import (
    ACCEPTED_UPLOAD,
    REJECTED_OTHER,
    REJECTED_SCHEMA,
    REJECTED_SIGNATURE,
    validate,
)
from invoices.dte.build import document_id, dte_unsigned
from invoices.dte.sign import sign
from invoices.models import Invoice
from invoices.services.filing import tax_document
from invoices.services.invoices import invoice_create
from invoices.tests.dte_helpers import SII, load_cafs
from invoices.tests.pdf_helpers import make_customer, make_draft, make_issuer
from tests.numbers import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(tenant) -> Invoice:
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    draft = make_draft(tenant.workspace)
    assert tenant.client.post(f"/invoices/{draft.id}/finalize/").status_code == 200
    return Invoice.objects.get(pk=draft.id)


def checked(filed, invoice):
    return validate(filed, now=invoice.finalized_at)


def with_xml(filed, xml: bytes):
    return {**filed, "xml": base64.b64encode(xml).decode()}


def test_a_document_with_a_caf_is_filed_with_its_signed_dte_and_accepted(invoice):
    filed = tax_document(invoice)

    assert base64.b64decode(filed["xml"]).startswith(b"<?xml version='1.0' encoding='ISO-8859-1'")
    assert checked(filed, invoice) == (ACCEPTED_UPLOAD, [])


def test_a_dte_changed_after_signing_is_rejected_for_its_signature(invoice):
    filed = tax_document(invoice)
    xml = base64.b64decode(filed["xml"]).replace(b"<MntTotal>43742<", b"<MntTotal>43743<")

    status, reasons = checked(with_xml(filed, xml), invoice)

    assert status == REJECTED_SIGNATURE
    assert [r["code"] for r in reasons] == ["dte_signature_invalid"]


def test_a_dte_outside_the_schema_is_rejected_for_its_schema(invoice):
    filed = tax_document(invoice)
    xml = base64.b64decode(filed["xml"]).replace(b"<TipoDTE>33<", b"<TipoDTE>99<")

    status, reasons = checked(with_xml(filed, xml), invoice)

    assert status == REJECTED_SCHEMA
    assert {r["code"] for r in reasons} == {"dte_schema_invalid"}
    assert "TipoDTE" in reasons[0]["message"]


def test_a_timbre_not_signed_by_the_caf_is_rejected(invoice):
    dte = dte_unsigned(invoice, now=invoice.finalized_at)
    frmt = dte.find(f".//{SII}FRMT")
    frmt.text = base64.b64encode(b"\0" * 128).decode()
    key = certificate_for_signing(
        workspace=invoice.workspace, test_mode=False, now=invoice.finalized_at
    )
    xml = etree.tostring(
        sign(dte, reference_id=document_id(invoice), key=key),
        encoding="ISO-8859-1",
        xml_declaration=True,
    )

    status, reasons = checked(with_xml(tax_document(invoice), xml), invoice)

    assert status == REJECTED_OTHER
    assert [r["code"] for r in reasons] == ["dte_timbre_invalid"]


def test_a_dte_of_another_folio_is_rejected(invoice):
    filed = {**tax_document(invoice), "folio": 2}

    status, reasons = checked(filed, invoice)

    assert status == REJECTED_OTHER
    assert [(r["code"], r["field"]) for r in reasons] == [("dte_mismatch", "xml.folio")]


def test_a_dte_whose_totals_are_not_the_filed_documents_is_rejected(invoice):
    # The DTE signed for 43,742; the filed document, consistent with its lines, states
    # 1,000 more of net (+ 190 IVA).
    signed = tax_document(invoice)["xml"]
    lines = list(invoice.lines.order_by("position"))
    lines[0].amount += D(1000) / lines[0].quantity
    apply_totals(invoice, lines)
    for line in lines:
        line.save()
    invoice.save()
    filed = with_xml(tax_document(invoice), base64.b64decode(signed))

    status, reasons = checked(filed, invoice)

    assert status == REJECTED_OTHER
    assert [(r["code"], r["field"]) for r in reasons] == [
        ("dte_mismatch", "xml.totals.amount"),
        ("dte_mismatch", "xml.totals.tax"),
        ("dte_mismatch", "xml.totals.total"),
    ]
    assert reasons[-1]["message"] == f"The DTE says 43742; filed {filed['totals']['total']}."


def test_additional_taxes_are_checked_apart_from_iva(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=date(2026, 3, 31),
        lines=[
            {"name": "Vino reserva", "amount": D(5990), "quantity": D(6), "additional_tax": "25"},
            {"name": "Agua mineral", "amount": D(890), "quantity": D(6), "additional_tax": "27"},
        ],
    )
    assert tenant.client.post(f"/invoices/{draft.id}/finalize/").status_code == 200
    invoice = Invoice.objects.get(pk=draft.id)
    filed = tax_document(invoice)
    # 20,5% of 35.940 = 7.367,7 → 7.368; 10% of 5.340 = 534.
    assert filed["totals"]["additional_tax"] == "7902"
    assert checked(filed, invoice) == (ACCEPTED_UPLOAD, [])
    understated = {**filed, "totals": {**filed["totals"], "additional_tax": "7368"}}

    status, reasons = checked(understated, invoice)

    assert status == REJECTED_OTHER
    assert [(r["code"], r["field"]) for r in reasons] == [
        ("totals_inconsistent", "totals.additional_tax")
    ]


def test_a_boleta_is_filed_with_its_dte_in_the_boleta_schema_and_accepted(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    draft = make_draft(tenant.workspace, document=39)
    assert tenant.client.post(f"/invoices/{draft.id}/finalize/").status_code == 200
    boleta = Invoice.objects.get(pk=draft.id)
    filed = tax_document(boleta)
    assert b"<RznSocEmisor>" in base64.b64decode(filed["xml"])

    assert checked(filed, boleta) == (ACCEPTED_UPLOAD, [])
