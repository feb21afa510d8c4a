"""The factura de compra (46) we issue for a supplier: its DTE names the supplier as the
receiver and withholds the whole IVA (ImptoReten 15), in the SII's schema."""

import datetime

import pytest

from billing.models import Certificate, DocumentType
from billing.tax_agency.sandbox import ACCEPTED_UPLOAD, validate
from billing.timbre import covering_range, timbre
from invoices.dte import dte_for_filing, dte_xml
from invoices.pdf.context import document_context
from invoices.services.filing import tax_document
from invoices.tests.dte_helpers import load_cafs, text, valid_dte, verify_signature, verify_timbre
from invoices.tests.pdf_helpers import make_issuer
from procurement.services.credit_notes import (
    purchase_credit_note_create,
    purchase_credit_note_finalize,
)
from procurement.services.purchases import purchase_create, purchase_finalize
from procurement.tests.factories import SupplierFactory
from tests.numbers import D

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)


def test_a_factura_de_compra_withholds_the_iva_in_its_dte(tenant):
    make_issuer(tenant.workspace)
    cafs = load_cafs(tenant.workspace)
    supplier = SupplierFactory(workspace=tenant.workspace, name="Recolectora del Maule")
    draft = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        document=DocumentType.objects.get(pk=46),
        date=datetime.date(2026, 2, 10),
        lines=[{"name": "Chatarra de cobre", "amount": D(1500), "quantity": D(10)}],
    )
    purchase = purchase_finalize(purchase=draft, now=NOW)

    content = dte_xml(purchase, now=NOW)

    dte = valid_dte(content)
    totals = "Documento/Encabezado/Totales"
    assert text(dte, "Documento/Encabezado/Receptor/RUTRecep") == supplier.tax_id
    assert text(dte, f"{totals}/MntNeto") == "15000"
    assert text(dte, f"{totals}/IVA") == "2850"
    assert text(dte, f"{totals}/ImptoReten/TipoImp") == "15"
    assert text(dte, f"{totals}/ImptoReten/MontoImp") == "2850"
    # What the buyer pays the supplier: the neto, the IVA withheld.
    assert text(dte, f"{totals}/MntTotal") == "15000"
    assert text(dte, "Documento/TED/DD/MNT") == "15000"  # the TED repeats MntTotal
    verify_timbre(dte, cafs[46])
    verify_signature(content, Certificate.objects.get())


def test_a_factura_de_compra_with_exempt_lines_discounts_and_references_is_in_the_schema(
    tenant,
):
    make_issuer(tenant.workspace)
    cafs = load_cafs(tenant.workspace)
    supplier = SupplierFactory(workspace=tenant.workspace, name="Recolectora del Maule")
    draft = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        document=DocumentType.objects.get(pk=46),
        date=datetime.date(2026, 2, 10),
        lines=[
            {"name": "Chatarra de cobre", "amount": D(1500), "quantity": D(10), "discount": D(10)},
            {"name": "Flete exento", "amount": D(3000), "exempt": True},
        ],
        discount=D(5),
        references=[{"document": "801", "serial": "OC-77", "date": "2026-02-01"}],
    )
    purchase = purchase_finalize(purchase=draft, now=NOW)

    content = dte_xml(purchase, now=NOW)

    dte = valid_dte(content)
    totals = "Documento/Encabezado/Totales"
    # 13.500 and 3.000 less 5% (825): 12.825 neto, 2.850 exempt; IVA 2.436,75 → 2.437,
    # all withheld.
    assert [text(dte, f"{totals}/{name}") for name in ("MntNeto", "MntExe", "IVA")] == [
        "12825",
        "2850",
        "2437",
    ]
    assert text(dte, f"{totals}/ImptoReten/MontoImp") == "2437"
    assert text(dte, f"{totals}/MntTotal") == "15675"
    assert text(dte, "Documento/Detalle/DescuentoPct") == "10"
    assert (
        len(
            dte.findall(
                "{http://www.sii.cl/SiiDte}Documento/{http://www.sii.cl/SiiDte}DscRcgGlobal"
            )
        )
        == 2
    )
    assert text(dte, "Documento/Referencia/FolioRef") == "OC-77"
    verify_timbre(dte, cafs[46])
    verify_signature(content, Certificate.objects.get())


def test_a_note_annulling_a_46_withholds_the_iva_as_the_46_did(tenant):
    make_issuer(tenant.workspace)
    cafs = load_cafs(tenant.workspace)
    draft = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=SupplierFactory(workspace=tenant.workspace, name="Recolectora del Maule"),
        document=DocumentType.objects.get(pk=46),
        date=datetime.date(2026, 2, 10),
        lines=[{"name": "Chatarra de cobre", "amount": D(1500), "quantity": D(10)}],
    )
    purchase = purchase_finalize(purchase=draft, now=NOW)
    note = purchase_credit_note_finalize(
        credit_note=purchase_credit_note_create(
            workspace=tenant.workspace,
            test_mode=False,
            purchase=purchase,
            reason=1,
            date=datetime.date(2026, 2, 11),
        ),
        now=NOW,
    )

    content = dte_xml(note, now=NOW)

    dte = valid_dte(content)
    totals = "Documento/Encabezado/Totales"
    assert text(dte, "Documento/Encabezado/IdDoc/TipoDTE") == "61"
    assert text(dte, f"{totals}/IVA") == "2850"
    assert text(dte, f"{totals}/ImptoReten/TipoImp") == "15"
    assert text(dte, f"{totals}/ImptoReten/MontoImp") == "2850"
    assert text(dte, f"{totals}/MntTotal") == "15000"
    assert text(dte, "Documento/TED/DD/MNT") == "15000"
    verify_timbre(dte, cafs[61])
    assert document_context(note)["timbre"] is not None
    for filed in (purchase, note):
        assert validate(tax_document(filed), now=NOW) == (ACCEPTED_UPLOAD, [])


def test_a_suppliers_document_gets_no_timbre_or_dte_of_ours(tenant):
    """A supplier's factura (33) whose folio one of our own CAFs of that type happens to
    cover is the supplier's document: no timbre signed with our CAF on its PDF, and no
    DTE of ours filed for it."""
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)  # ours cover folios 1–50 of every type, 33 included
    supplier = SupplierFactory(workspace=tenant.workspace, name="Ferretería Los Andes")
    draft = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        document=DocumentType.objects.get(pk=33),
        number=17,
        date=datetime.date(2026, 2, 10),
        lines=[{"name": "Tornillos", "amount": D(1500), "quantity": D(10)}],
    )
    purchase = purchase_finalize(purchase=draft, now=NOW)

    assert covering_range(purchase) is None
    assert timbre(purchase) is None
    assert dte_for_filing(purchase) is None
    assert document_context(purchase)["timbre"] is None
    xml = tenant.client.get(f"/purchases/{purchase.id}/xml/")
    assert (xml.status_code, xml.json()["code"]) == (409, "dte_issued_by_supplier")
    assert "CAF" not in xml.json()["detail"]


def test_a_factura_de_compra_s_dte_is_served_at_its_xml_route(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    draft = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=SupplierFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=46),
        date=datetime.date(2026, 2, 10),
        lines=[{"name": "Chatarra de cobre", "amount": D(1500), "quantity": D(10)}],
    )
    purchase = purchase_finalize(purchase=draft, now=NOW)

    response = tenant.client.get(f"/purchases/{purchase.id}/xml/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=ISO-8859-1"
    dte = valid_dte(response.content)
    assert text(dte, "Documento/Encabezado/IdDoc/Folio") == str(purchase.number)
