"""The DTE XML: every document type we issue in the SII's schema, with its timbre signed
by the CAF's key and the whole signed (XMLDSig) with the workspace's certificate."""

import base64
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from billing.models import Certificate, DocumentType
from billing.tax_agency.sii_schema import schema_errors
from billing.tests.certificate_helpers import self_signed
from invoices.models import CreditNote, DebitNote, Invoice
from invoices.services.invoices import invoice_create
from invoices.services.notes import credit_note_create, debit_note_create, note_finalize
from invoices.tests.dte_helpers import (
    SII,
    load_cafs,
    text,
    valid_dte,
    verify_signature,
    verify_timbre,
)
from invoices.tests.pdf_helpers import (
    NOTE_DAY,
    NOW,
    make_customer,
    make_draft,
    make_finalized_note,
    make_issuer,
)
from organization.tests.factories import OrgUnitFactory
from tests.conftest import make_tenant
from tests.factories import CustomerFactory
from tests.numbers import D

NOTES = [(CreditNote, "creditnotes", "61"), (DebitNote, "debitnotes", "56")]
EXPORT_NOTES = [(CreditNote, "creditnotes", "112"), (DebitNote, "debitnotes", "111")]

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafs(tenant):
    make_issuer(tenant.workspace)
    return load_cafs(tenant.workspace)


def finalized(tenant, draft) -> Invoice:
    response = tenant.client.post(f"/invoices/{draft.id}/finalize/")
    assert response.status_code == 200, response.json()
    return Invoice.objects.get(pk=draft.id)


def test_a_factura_is_a_signed_dte_in_the_sii_schema(tenant, cafs):
    invoice = finalized(tenant, make_draft(tenant.workspace))

    response = tenant.client.get(f"/invoices/{invoice.id}/xml/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=ISO-8859-1"
    dte = valid_dte(response.content)
    verify_timbre(dte, cafs[33])
    signed = verify_signature(response.content, Certificate.objects.get())
    assert signed.get("ID") == "F1T33"


@pytest.mark.parametrize(
    "giro", ["Venta de artículos de ferretería", "x" * 41 + " (stored before its limit)", None]
)
def test_a_factura_names_its_receivers_giro(tenant, cafs, giro):
    # The SII reads a factura's GiroRecep as the buyer's line of business (at most 40
    # characters, cut as the other names are); a buyer with none leaves it out.
    settings = {"cl_activity_description": giro} if giro else {}
    customer = make_customer(tenant.workspace, tax_settings=settings)
    invoice = finalized(tenant, make_draft(tenant.workspace, customer=customer))

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    assert dte.findtext(f"{SII}Documento/{SII}Encabezado/{SII}Receptor/{SII}GiroRecep") == (
        giro and giro[:40]
    )


def get_dte(tenant, path: str):
    response = tenant.client.get(path)
    assert response.status_code == 200, response.content
    return response.content, valid_dte(response.content)


def test_the_factura_lays_out_its_totals_lines_discounts_and_references(tenant, cafs):
    invoice = finalized(tenant, make_draft(tenant.workspace))

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    totals = "Documento/Encabezado/Totales"
    assert [text(dte, f"{totals}/{name}") for name in ("MntNeto", "MntExe", "IVA")] == [
        "32766",
        "4750",
        "6226",
    ]
    assert text(dte, f"{totals}/MntTotal") == "43742"
    details = dte.findall(f"{SII}Documento/{SII}Detalle")
    # The exempt line says so; the discounted one gives its percent and amount.
    assert [d.findtext(f"{SII}IndExe") for d in details] == [None, None, "1"]
    assert details[1].findtext(f"{SII}DescuentoPct") == "10"
    assert details[1].findtext(f"{SII}DescuentoMonto") == "499"
    # The 5% document discount, on the taxable lines and on the exempt one apart: the
    # line amounts less these give MntNeto and MntExe.
    global_rows = dte.findall(f"{SII}Documento/{SII}DscRcgGlobal")
    assert [
        (r.findtext(f"{SII}TpoMov"), r.findtext(f"{SII}ValorDR"), r.findtext(f"{SII}IndExeDR"))
        for r in global_rows
    ] == [("D", "1725", None), ("D", "250", "1")]
    taxable = sum(D(d.findtext(f"{SII}MontoItem")) for d in details[:2])
    assert taxable - D("1725") == D(text(dte, f"{totals}/MntNeto"))
    assert text(dte, "Documento/Referencia/TpoDocRef") == "801"
    assert text(dte, "Documento/Referencia/FolioRef") == "OC-118"


@pytest.mark.parametrize("document", [33, 39])  # a factura's Emisor and a boleta's
def test_a_document_issued_from_a_branch_names_its_sii_branch_code(tenant, cafs, document):
    unit = OrgUnitFactory(workspace=tenant.workspace, sii_branch_code="81234567")
    draft = make_draft(tenant.workspace, document=document)
    Invoice.objects.filter(pk=draft.pk).update(orgunit=unit)
    invoice = finalized(tenant, draft)
    note = make_finalized_note(CreditNote, invoice)

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")
    _, note_dte = get_dte(tenant, f"/creditnotes/{note.id}/xml/")

    # The SII's code of the branch it is issued from; its note is issued from the same one.
    assert text(dte, "Documento/Encabezado/Emisor/CdgSIISucur") == "81234567"
    assert text(note_dte, "Documento/Encabezado/Emisor/CdgSIISucur") == "81234567"


EMISOR = "Documento/Encabezado/Emisor"


@pytest.mark.parametrize("document", [33, 39])
def test_a_document_issued_from_a_branch_gives_its_name_and_address(tenant, cafs, document):
    unit = OrgUnitFactory(
        workspace=tenant.workspace,
        name="Sucursal Centro Histórico",
        address="Huérfanos 1160, local 4",
        comuna_id="13101",  # Santiago
        city="Santiago Centro",
    )
    draft = make_draft(tenant.workspace, document=document)
    Invoice.objects.filter(pk=draft.pk).update(orgunit=unit)
    invoice = finalized(tenant, draft)
    note = make_finalized_note(CreditNote, invoice)

    for path in (f"/invoices/{invoice.id}/xml/", f"/creditnotes/{note.id}/xml/"):
        _, dte = get_dte(tenant, path)
        # The origin is the branch's, never the head office's (Av. Providencia 1234).
        origin = [text(dte, f"{EMISOR}/{name}") for name in ORIGIN]
        assert origin == ["Huérfanos 1160, local 4", "Santiago", "Santiago Centro"], path
        # The boleta's Emisor has no Sucursal; the factura's and the notes' hold 20
        # characters.
        boleta = text(dte, "Documento/Encabezado/IdDoc/TipoDTE") == "39"
        expected = None if boleta else "Sucursal Centro Hist"
        assert text(dte, f"{EMISOR}/Sucursal") == expected, path


ORIGIN = ("DirOrigen", "CmnaOrigen", "CiudadOrigen")


def test_a_branch_without_an_address_issues_from_the_head_offices(tenant, cafs):
    unit = OrgUnitFactory(workspace=tenant.workspace, name="Norte", address="", city="Arica")
    draft = make_draft(tenant.workspace)
    Invoice.objects.filter(pk=draft.pk).update(orgunit=unit)
    invoice = finalized(tenant, draft)

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    # The head office's address whole: a branch's city is not mixed into it.
    origin = [text(dte, f"{EMISOR}/{name}") for name in ORIGIN]
    assert origin == ["Av. Providencia 1234, of. 501", "Providencia", "Santiago"]
    assert text(dte, f"{EMISOR}/Sucursal") == "Norte"


def test_a_branch_without_an_sii_code_leaves_cdg_sii_sucur_out(tenant, cafs):
    unit = OrgUnitFactory(workspace=tenant.workspace, sii_branch_code="")
    draft = make_draft(tenant.workspace)
    Invoice.objects.filter(pk=draft.pk).update(orgunit=unit)
    invoice = finalized(tenant, draft)

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    assert dte.find(f".//{SII}CdgSIISucur") is None


def test_the_timbre_and_the_signature_are_stamped_in_the_workspaces_time(tenant, cafs):
    tenant.workspace.timezone = "America/Santiago"
    tenant.workspace.save()
    invoice = finalized(tenant, make_draft(tenant.workspace))
    santiago = ZoneInfo("America/Santiago")

    with time_machine.travel(datetime(2026, 4, 1, 2, 30, tzinfo=UTC)):
        _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    # The SII reads these times, which carry no offset, as Chile's: 02:30 UTC is 23:30
    # of the day before in Santiago (UTC−3).
    stamped = invoice.finalized_at.astimezone(santiago).strftime("%Y-%m-%dT%H:%M:%S")
    assert text(dte, "Documento/TED/DD/TSTED") == stamped
    assert text(dte, "Documento/TmstFirma") == "2026-03-31T23:30:00"


def test_a_quantity_beyond_qty_item_leaves_quantity_and_price_to_the_amount(tenant, cafs):
    bytes_line = {"name": "Bytes", "amount": D("0.000001"), "quantity": D(3 * 10**12)}
    draft = invoice_create(
        workspace=tenant.workspace, test_mode=False, customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33), date=date(2026, 3, 31),
        lines=[bytes_line, {"name": "Plan", "amount": D(1000), "quantity": D(2)}],
    )  # fmt: skip
    invoice = finalized(tenant, draft)

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")  # in the schema

    details = dte.findall(f"{SII}Documento/{SII}Detalle")
    assert [
        (d.findtext(f"{SII}QtyItem"), d.findtext(f"{SII}PrcItem"), d.findtext(f"{SII}MontoItem"))
        for d in details
    ] == [(None, None, "3000000"), ("2", "1000", "2000")]


def test_a_factura_exenta_has_only_exempt_amounts(tenant, cafs):
    invoice = finalized(tenant, make_draft(tenant.workspace, document=34))

    content, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    assert text(dte, "Documento/Encabezado/IdDoc/TipoDTE") == "34"
    assert text(dte, "Documento/Encabezado/Totales/MntNeto") is None
    assert text(dte, "Documento/Encabezado/Totales/IVA") is None
    assert text(dte, "Documento/Encabezado/Totales/MntExe") == str(int(invoice.total))
    assert {d.findtext(f"{SII}IndExe") for d in dte.iter(f"{SII}Detalle")} == {"1"}
    verify_timbre(dte, cafs[34])
    verify_signature(content, Certificate.objects.get())


@pytest.mark.parametrize(
    ("model", "path", "code"), [(CreditNote, "creditnotes", "61"), (DebitNote, "debitnotes", "56")]
)
def test_a_note_references_its_invoice_with_the_reason_code(tenant, cafs, model, path, code):
    invoice = finalized(tenant, make_draft(tenant.workspace))
    note = make_finalized_note(model, invoice)

    content, dte = get_dte(tenant, f"/{path}/{note.id}/xml/")

    assert text(dte, "Documento/Encabezado/IdDoc/TipoDTE") == code
    reference = dte.find(f"{SII}Documento/{SII}Referencia")
    assert [reference.findtext(f"{SII}{name}") for name in ("TpoDocRef", "FolioRef", "CodRef")] == [
        "33",
        "1",
        "3",
    ]
    assert text(dte, "Documento/Encabezado/Totales/MntTotal") == "5950"
    verify_timbre(dte, cafs[int(code)])
    verify_signature(content, Certificate.objects.get())


def export_invoice(tenant) -> Invoice:
    german = CustomerFactory(
        workspace=tenant.workspace,
        name="Müller Software GmbH",
        country_id="DE",
        currency_id="EUR",
        tax_id="DE811569869",
        address="Friedrichstraße 68, Berlin",
    )
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=german,
        document=DocumentType.objects.get(pk=110),
        date=date(2026, 3, 31),
        lines=[
            {"name": "Lizenz", "amount": D("99.50"), "quantity": D(3)},
            {"name": "Schulung", "amount": D("450.25"), "discount": D(10)},
        ],
        discount=D("20.00"),
        discount_scheme="$",
    )
    return finalized(tenant, draft)


def test_an_export_invoice_is_in_the_sales_currency(tenant, cafs):
    invoice = export_invoice(tenant)

    content, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    header = "Exportaciones/Encabezado"
    assert text(dte, f"{header}/IdDoc/TipoDTE") == "110"
    # Foreign buyers take the SII's RUT for buyers abroad; their own id goes apart.
    assert text(dte, f"{header}/Receptor/RUTRecep") == "55555555-5"
    assert text(dte, f"{header}/Receptor/Extranjero/NumId") == "DE811569869"
    assert text(dte, f"{header}/Totales/TpoMoneda") == "EURO"
    # 3 × 99,50 + 450,25 less 10% − 20,00 = 683,73 EUR, all exempt.
    assert D(text(dte, f"{header}/Totales/MntTotal")) == D("683.73") == invoice.total
    assert D(text(dte, f"{header}/Totales/MntExe")) == D("683.73")
    assert text(dte, "Exportaciones/DscRcgGlobal/ValorDR") == "20"
    verify_timbre(dte, cafs[110])
    verify_signature(content, Certificate.objects.get())


def test_an_exports_timbre_repeats_its_total_with_its_decimals(tenant, cafs):
    invoice = export_invoice(tenant)

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    # An export's TED states MNT with up to 4 decimals, as its MntTotal: 683,73 EUR.
    assert text(dte, "Exportaciones/TED/DD/MNT") == "683.73"
    assert text(dte, "Exportaciones/Encabezado/Totales/MntTotal") == "683.73"


def test_an_exports_unit_price_keeps_its_six_decimals(tenant, cafs):
    american = CustomerFactory(
        workspace=tenant.workspace, name="Northwind Inc.", country_id="US", currency_id="USD"
    )
    draft = invoice_create(
        workspace=tenant.workspace, test_mode=False, customer=american,
        document=DocumentType.objects.get(pk=110), date=date(2026, 3, 31),
        lines=[{"name": "API calls", "amount": D("0.123456"), "quantity": D(1000)}],
    )  # fmt: skip
    invoice = finalized(tenant, draft)

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    # PrcItem holds 6 decimals (Dec12_6Type): 1000 × 0,123456 is the item's 123,46 USD,
    # which 0,1235 would make 123,50.
    assert text(dte, "Exportaciones/Detalle/PrcItem") == "0.123456"
    assert text(dte, "Exportaciones/Detalle/MontoItem") == "123.46"


def test_an_export_in_a_three_decimal_currency_states_the_discounts_it_took(tenant, cafs):
    kuwaiti = CustomerFactory(
        workspace=tenant.workspace, name="Gulf Trading Co.", country_id="KW",
        currency_id="KWD", tax_id="KW123456",
    )  # fmt: skip
    draft = invoice_create(
        workspace=tenant.workspace, test_mode=False, customer=kuwaiti,
        document=DocumentType.objects.get(pk=110), date=date(2026, 3, 31),
        lines=[
            {"name": "License", "amount": D("12.345")},
            {"name": "Support", "amount": D("7.777"), "discount": D(10)},
        ],
        discount=D(10),
    )  # fmt: skip
    invoice = finalized(tenant, draft)

    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    # The schema states discounts (ValorDscto, ValorDR) with 2 decimals, and a KWD amount
    # has 3: 10% of 7,777 is taken as 0,78 and 10% of 19,342 as 1,93, the discounts the
    # DTE can state, so that its items less them make its total.
    details = dte.findall(f"{SII}Exportaciones/{SII}Detalle")
    assert [d.findtext(f"{SII}MontoItem") for d in details] == ["12.345", "6.997"]
    assert details[1].findtext(f"{SII}SubDscto/{SII}ValorDscto") == "0.78"
    assert text(dte, "Exportaciones/DscRcgGlobal/ValorDR") == "1.93"
    assert text(dte, "Exportaciones/Encabezado/Totales/MntTotal") == "17.412"
    assert invoice.total == D("17.412") and invoice.discount_amount == D("1.93")


@pytest.mark.parametrize(
    ("model", "path", "code"),
    [(CreditNote, "creditnotes", "112"), (DebitNote, "debitnotes", "111")],
)
def test_an_export_note_is_an_export_dte(tenant, cafs, model, path, code):
    invoice = export_invoice(tenant)
    create = credit_note_create if model is CreditNote else debit_note_create
    draft = create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        reason=3,
        now=NOW,
        date=date(2026, 4, 2),
        description="Preisanpassung",
        lines=[{"name": "Anpassung", "amount": D("50.00")}],
    )
    note = note_finalize(note=draft, now=NOTE_DAY)

    content, dte = get_dte(tenant, f"/{path}/{note.id}/xml/")

    assert text(dte, "Exportaciones/Encabezado/IdDoc/TipoDTE") == code
    assert text(dte, "Exportaciones/Referencia/TpoDocRef") == "110"
    assert text(dte, "Exportaciones/Referencia/CodRef") == "3"
    verify_timbre(dte, cafs[int(code)])
    verify_signature(content, Certificate.objects.get())


def test_a_loaded_certificate_signs_instead_of_a_sandbox_one(tenant, cafs):
    key, certificate = self_signed("Andes SpA firma")
    bundle = pkcs12.serialize_key_and_certificates(
        b"andes", key, certificate, None, BestAvailableEncryption(b"secreto")
    )
    loaded = tenant.client.post(
        "/certificates/",
        {"pkcs12": base64.b64encode(bundle).decode(), "password": "secreto"},
        format="json",
    )
    assert loaded.status_code == 201, loaded.json()
    invoice = finalized(tenant, make_draft(tenant.workspace))

    content, _ = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    assert Certificate.objects.get().is_sandbox is False
    verify_signature(content, Certificate.objects.get())


def test_a_draft_has_no_dte(tenant, cafs):
    draft = make_draft(tenant.workspace)

    response = tenant.client.get(f"/invoices/{draft.id}/xml/")

    assert response.status_code == 409
    assert response.json()["code"] == "document_not_finalized"


def test_a_folio_without_a_caf_has_no_dte(tenant):
    make_issuer(tenant.workspace)
    invoice = finalized(tenant, make_draft(tenant.workspace))

    response = tenant.client.get(f"/invoices/{invoice.id}/xml/")

    assert response.status_code == 409
    assert response.json()["code"] == "timbre_unavailable"


def test_a_boleta_is_a_signed_dte_in_the_sii_boleta_schema(tenant, cafs):
    # The API tests' lines priced gross: 30.000 + 4.491 taxable, 5.000 exempt, less 5%.
    invoice = finalized(tenant, make_draft(tenant.workspace, document=39))

    content, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    assert invoice.prices_include_tax
    header = "Documento/Encabezado"
    assert text(dte, f"{header}/IdDoc/TipoDTE") == "39"
    assert text(dte, f"{header}/IdDoc/IndServicio") == "3"
    assert text(dte, f"{header}/Emisor/RznSocEmisor") == "Servicios Digitales Andes SpA"
    # Taxable gross 32.766: neto = round(32.766 / 1,19) = 27.534, IVA = 5.232.
    assert [text(dte, f"{header}/Totales/{name}") for name in ("MntNeto", "MntExe", "IVA")] == [
        "27534",
        "4750",
        "5232",
    ]
    assert text(dte, f"{header}/Totales/MntTotal") == "37516" == str(int(invoice.total))
    details = dte.findall(f"{SII}Documento/{SII}Detalle")
    assert [d.findtext(f"{SII}MontoItem") for d in details] == ["30000", "4491", "5000"]
    assert [d.findtext(f"{SII}IndExe") for d in details] == [None, None, "1"]
    assert details[1].findtext(f"{SII}DescuentoMonto") == "499"
    assert len(dte.findall(f"{SII}Documento/{SII}DscRcgGlobal")) == 2
    # A boleta's reference has no date.
    assert text(dte, "Documento/Referencia/FolioRef") == "OC-118"
    assert text(dte, "Documento/Referencia/FchRef") is None
    verify_timbre(dte, cafs[39])
    verify_signature(content, Certificate.objects.get())


def test_a_boleta_exenta_has_only_exempt_amounts(tenant, cafs):
    invoice = finalized(tenant, make_draft(tenant.workspace, document=41))

    content, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    totals = "Documento/Encabezado/Totales"
    assert text(dte, "Documento/Encabezado/IdDoc/TipoDTE") == "41"
    assert text(dte, f"{totals}/MntNeto") is None and text(dte, f"{totals}/IVA") is None
    assert text(dte, f"{totals}/MntExe") == text(dte, f"{totals}/MntTotal") == "37516"
    assert {d.findtext(f"{SII}IndExe") for d in dte.iter(f"{SII}Detalle")} == {"1"}
    verify_timbre(dte, cafs[41])
    verify_signature(content, Certificate.objects.get())


def test_a_boleta_outside_the_boleta_schema_fails_its_validation(tenant, cafs):
    invoice = finalized(tenant, make_draft(tenant.workspace, document=39))
    _, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")
    # The factura's name for the issuer is not the boleta's.
    issuer = dte.find(f"{SII}Documento/{SII}Encabezado/{SII}Emisor/{SII}RznSocEmisor")
    issuer.tag = f"{SII}RznSoc"

    errors = schema_errors(dte)

    assert errors and "RznSoc" in errors[0]


def test_a_factura_declares_its_additional_taxes_per_line_and_apart_in_totals(tenant, cafs):
    customer = make_customer(tenant.workspace)
    created = tenant.client.post(
        "/invoices/",
        {
            "customer": customer.id,
            "document": 33,
            "date": "2026-03-31",
            "lines": [
                {"name": "Pisco reservado 35°", "amount": "9990", "quantity": "3",
                 "additional_tax": "24"},
                {"name": "Cerveza artesanal", "amount": "1290", "quantity": "7",
                 "additional_tax": "26"},
                {"name": "Bebida azucarada", "amount": "1490", "additional_tax": "271"},
                {"name": "Despacho", "amount": "3000", "exempt": True},
            ],
        },
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert [line["additional_tax_percent"] for line in body["lines"]] == [
        D("31.5"), D("20.5"), D(18), None,
    ]  # fmt: skip
    # Net 29.970 + 9.030 + 1.490 = 40.490, IVA 7.693,1 → 7.693; 31,5% of 29.970 = 9.440,55
    # → 9.441, 20,5% of 9.030 = 1.851,15 → 1.851, 18% of 1.490 = 268,2 → 268.
    assert (body["amount"], body["exempt"], body["tax"]) == (D(40490), D(3000), D(7693))
    assert body["additional_taxes"] == [
        {"code": "24", "percent": D("31.5"), "amount": D(9441)},
        {"code": "26", "percent": D("20.5"), "amount": D(1851)},
        {"code": "271", "percent": D(18), "amount": D(268)},
    ]
    assert body["additional_tax"] == D(11560)
    assert body["total"] == D(40490 + 3000 + 7693 + 11560)
    invoice = finalized(tenant, Invoice.objects.get(pk=body["id"]))

    content, dte = get_dte(tenant, f"/invoices/{invoice.id}/xml/")

    details = dte.findall(f"{SII}Documento/{SII}Detalle")
    assert [d.findtext(f"{SII}CodImpAdic") for d in details] == ["24", "26", "271", None]
    withheld = dte.findall(f"{SII}Documento/{SII}Encabezado/{SII}Totales/{SII}ImptoReten")
    assert [
        [row.findtext(f"{SII}{name}") for name in ("TipoImp", "TasaImp", "MontoImp")]
        for row in withheld
    ] == [["24", "31.5", "9441"], ["26", "20.5", "1851"], ["271", "18", "268"]]
    assert text(dte, "Documento/Encabezado/Totales/MntTotal") == "62743"
    verify_timbre(dte, cafs[33])
    verify_signature(content, Certificate.objects.get())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"name": "Licor", "amount": "1000", "additional_tax": "99"}, "not a valid choice"),
        (
            {"name": "Licor", "amount": "1000", "additional_tax": "24", "exempt": True},
            "An exempt line bears no additional tax",
        ),
    ],
    ids=["unknown code", "exempt line"],
)
def test_an_additional_tax_the_sii_does_not_know_or_on_an_exempt_line_is_a_400(
    tenant, cafs, line, message
):
    customer = make_customer(tenant.workspace)

    response = tenant.client.post(
        "/invoices/",
        {"customer": customer.id, "document": 33, "date": "2026-03-31", "lines": [line]},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert message in response.json()["lines"]["0"]["additional_tax"][0]


def test_an_additional_tax_on_another_countrys_document_is_a_400(db):
    tenant = make_tenant(country="MX")
    customer = CustomerFactory(workspace=tenant.workspace, country_id="MX", currency_id="MXN")
    mexican = DocumentType.objects.get(country="MX", code="INV")

    response = tenant.client.post(
        "/invoices/",
        {
            "customer": customer.id,
            "document": mexican.pk,
            "date": "2026-03-31",
            "lines": [{"name": "Tequila", "amount": "300", "additional_tax": "24"}],
        },
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert "Chile's" in response.json()["lines"]["0"]["additional_tax"][0]


def test_notes_on_a_factura_with_additional_taxes_carry_them_in_their_dte(tenant, cafs):
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=date(2026, 3, 31),
        lines=[
            {"name": "Vino gran reserva", "amount": D(12990), "quantity": D(2),
             "additional_tax": "25", "discount": D(5)},
            {"name": "Jugo natural", "amount": D(1990), "additional_tax": "27"},
            {"name": "Copa de regalo", "amount": D(2000), "exempt": True},
        ],
        discount=D(1000),
        discount_scheme="$",
    )  # fmt: skip
    invoice = finalized(tenant, draft)
    surcharge = note_finalize(
        note=debit_note_create(
            workspace=tenant.workspace, test_mode=False, invoice=invoice, reason=3, now=NOW,
            date=date(2026, 4, 2), description="Botella faltante",
            lines=[{"name": "Vino gran reserva", "amount": D(12990), "additional_tax": "25"}],
        ),
        now=NOTE_DAY,
    )  # fmt: skip
    # Annulling cancels the invoice: the debit note comes first.
    annulling = note_finalize(
        note=credit_note_create(
            workspace=tenant.workspace, test_mode=False, invoice=invoice, reason=1, now=NOW,
            date=date(2026, 4, 2), description="Pedido devuelto",
        ),
        now=NOTE_DAY,
    )  # fmt: skip

    credit_xml, credit = get_dte(tenant, f"/creditnotes/{annulling.id}/xml/")
    debit_xml, debit = get_dte(tenant, f"/debitnotes/{surcharge.id}/xml/")

    def additional(dte):
        rows = dte.findall(f"{SII}Documento/{SII}Encabezado/{SII}Totales/{SII}ImptoReten")
        return [(r.findtext(f"{SII}TipoImp"), r.findtext(f"{SII}MontoImp")) for r in rows]

    # The annulling note mirrors the invoice, its additional taxes with it.
    assert additional(credit) == [
        (row["code"], str(row["amount"])) for row in invoice.additional_taxes
    ]
    assert text(credit, "Documento/Encabezado/Totales/MntTotal") == str(int(invoice.total))
    assert text(credit, "Documento/Referencia/CodRef") == "1"
    # 20,5% of 12.990 = 2.662,95 → 2.663.
    assert additional(debit) == [("25", "2663")]
    assert text(debit, "Documento/Detalle/CodImpAdic") == "25"
    for content, dte, code in [(credit_xml, credit, 61), (debit_xml, debit, 56)]:
        verify_timbre(dte, cafs[code])
        verify_signature(content, Certificate.objects.get())


@pytest.mark.parametrize(("model", "path", "code"), NOTES)
def test_a_note_on_a_boleta_says_its_line_amounts_are_gross(tenant, cafs, model, path, code):
    # The boleta's lines are priced with IVA, and so are its notes' (billing.totals): the
    # SII reads such a note's Detalle and DscRcgGlobal as gross only with MntBruto 1.
    boleta = finalized(tenant, make_draft(tenant.workspace, document=39))
    annulling = note_finalize(
        note=credit_note_create(
            workspace=tenant.workspace, test_mode=False, invoice=boleta, reason=1, now=NOW,
            date=date(2026, 4, 2), description="Anula boleta",
        ),
        now=NOTE_DAY,
    ) if model is CreditNote else make_finalized_note(model, boleta)  # fmt: skip

    content, dte = get_dte(tenant, f"/{path}/{annulling.id}/xml/")

    assert text(dte, "Documento/Encabezado/IdDoc/MntBruto") == "1"
    totals = {
        name: int(text(dte, f"Documento/Encabezado/Totales/{name}") or 0)
        for name in ("MntNeto", "MntExe", "IVA", "MntTotal")
    }
    items = sum(int(d.findtext(f"{SII}MontoItem")) for d in dte.iter(f"{SII}Detalle"))
    discounts = sum(int(d.findtext(f"{SII}ValorDR")) for d in dte.iter(f"{SII}DscRcgGlobal"))
    assert items - discounts == totals["MntTotal"] == int(annulling.total)
    assert totals["MntNeto"] + totals["MntExe"] + totals["IVA"] == totals["MntTotal"]
    verify_timbre(dte, cafs[int(code)])
    verify_signature(content, Certificate.objects.get())


def test_a_note_on_a_factura_has_net_line_amounts(tenant, cafs):
    invoice = finalized(tenant, make_draft(tenant.workspace))
    note = make_finalized_note(CreditNote, invoice)

    _, dte = get_dte(tenant, f"/creditnotes/{note.id}/xml/")

    assert text(dte, "Documento/Encabezado/IdDoc/MntBruto") is None
