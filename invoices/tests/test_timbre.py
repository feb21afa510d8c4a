"""The timbre electrónico (TED): signed with the CAF's key (SHA1withRSA) over its DD, and
printed on the PDF as a PDF417 barcode that decodes back to it."""

import base64
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pdf417decoder import PDF417Decoder
from PIL import Image

from billing.tests.caf_helpers import caf_xml
from billing.timbre import timbre
from invoices.models import Invoice
from invoices.pdf.storage import document_pdf_store
from invoices.tests.pdf_helpers import make_customer, make_draft, make_issuer, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def caf_key(tenant):
    make_issuer(tenant.workspace)
    key = rsa.generate_private_key(public_exponent=3, key_size=1024)
    response = tenant.client.post(
        "/cafs/", {"caf": caf_xml(first=1, last=50, key=key)}, format="json"
    )
    assert response.status_code == 201, response.json()
    return key


def issued(tenant) -> Invoice:
    customer = make_customer(tenant.workspace)
    customer.name = "Ñandú Comercial Ltda."  # Latin-1 beyond ASCII, as the TED carries it
    customer.save()
    draft = make_draft(tenant.workspace, customer)
    response = tenant.client.post(f"/invoices/{draft.id}/finalize/")
    assert response.status_code == 200, response.json()
    return Invoice.objects.get(pk=draft.id)


def test_the_ted_is_signed_with_the_cafs_key(tenant, caf_key):
    invoice = issued(tenant)

    ted = ET.fromstring(timbre(invoice))

    data = ted.find("DD")
    assert data is not None
    fields = {child.tag: child.text for child in data if child.tag != "CAF"}
    assert fields | {"TSTED": None} == {
        "RE": "76086428-5",
        "TD": "33",
        "F": "1",
        "FE": "2026-03-31",
        "RR": "77123456-9",
        "RSR": "Ñandú Comercial Ltda.",
        "MNT": "43742",
        "IT1": "Plan Pro",
        "TSTED": None,
    }
    assert data.findtext("CAF/DA/RNG/D") == "1"
    signature = base64.b64decode(ted.findtext("FRMT") or "")
    signed = ET.tostring(data, encoding="ISO-8859-1", xml_declaration=False)
    # Raises InvalidSignature unless the CAF's key signed exactly this DD.
    caf_key.public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA1())


def test_text_beyond_latin_1_is_stamped_and_printed_as_latin_1(tenant, caf_key):
    # Quotes and dashes pasted from a word processor, a euro sign, an emoji: the TED is
    # ISO-8859-1, so each is carried by a plain equivalent of the same length, or "?".
    customer = make_customer(tenant.workspace)
    customer.name = "Café “Lumière” — € 😀"
    customer.save()
    draft = make_draft(tenant.workspace, customer)
    draft.lines.filter(name="Plan Pro").update(name="Asesoría ‘premium’…")
    assert tenant.client.post(f"/invoices/{draft.id}/finalize/").status_code == 200

    pdf = tenant.client.get(f"/invoices/{draft.id}/pdf/")
    data = ET.fromstring(timbre(Invoice.objects.get(pk=draft.id))).find("DD")

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert data is not None
    assert (data.findtext("RSR"), data.findtext("IT1")) == (
        'Café "Lumière" - E ?',
        "Asesoría 'premium'.",
    )


def test_a_document_without_a_caf_has_no_timbre(tenant):
    make_issuer(tenant.workspace)

    invoice = issued(tenant)

    assert timbre(invoice) is None


def test_the_pdf_barcode_decodes_back_to_the_ted(tenant, caf_key, tmp_path):
    invoice = issued(tenant)
    document_pdf_store(model_label="invoices.Invoice", document_id=invoice.id)
    invoice.refresh_from_db()
    path = Path(invoice.pdf.path)

    text = pdf_text(path)
    subprocess.run(["pdfimages", "-png", str(path), str(tmp_path / "img")], check=True)
    decoded = []
    for image_path in sorted(tmp_path.glob("img-*.png")):
        decoder = PDF417Decoder(Image.open(image_path).convert("RGB"))
        if decoder.decode():
            decoded.append(decoder.barcode_data_index_to_string(0))

    assert "Timbre Electrónico SII" in text
    assert "Res. N° 80 de 2014" in text
    assert "Verifique documento: www.sii.cl" in text
    # The decoder reads the barcode's bytes as Latin-1, the TED's encoding.
    assert decoded == [timbre(invoice)]
