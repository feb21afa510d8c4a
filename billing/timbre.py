"""The timbre electrónico (TED) of a Chilean document: its data (DD) signed with the key
of the CAF its folio comes from (FRMT, SHA1withRSA, as the SII specifies), printed on the
document as a PDF417 barcode.

A document this workspace issued gets one when a loaded CAF covers its folio
(billing.services.folios).
"""

import base64
import io
import xml.etree.ElementTree as ET
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pdf417gen
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from billing.counterparts import document_counterpart
from billing.models import FiscalDocument, FolioRange, Workspace
from billing.services.folios import folio_range_private_key
from billing.sii_text import sii_text

# The SII's receiver for a buyer who does not identify themselves (a boleta's), and for
# a buyer abroad (an export's), whose own tax id is no RUT.
ANONYMOUS_RUT = "66666666-6"
FOREIGN_RUT = "55555555-5"
# The TED is Latin-1 text, as every DTE.
ENCODING = "ISO-8859-1"


def _flat(element: ET.Element) -> ET.Element:
    """The element without whitespace between its tags: what the signature covers."""
    for node in element.iter():
        node.text = node.text.strip() if node.text else node.text
        node.tail = None
    return element


def _sub(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = sii_text(text)


def sii_timestamp(instant: datetime, workspace: Workspace) -> str:
    """A time as the SII's schemas write it (TSTED, TmstFirma): without an offset, which
    the SII reads as Chile's local time, so the instant in the workspace's timezone."""
    return instant.astimezone(ZoneInfo(workspace.timezone)).strftime("%Y-%m-%dT%H:%M:%S")


def dte_total(document: FiscalDocument) -> Decimal:
    """The DTE's MntTotal, which the TED repeats: what the receiver pays. The buyer of a
    factura de compra (46) and of its notes withholds their IVA (the document's retention)."""
    if document.withholds_tax:
        return document.total - document.retention
    return document.total


def _ted_total(document: FiscalDocument) -> str:
    """The DD's MNT, as the DTE's MntTotal: an export's in its currency with up to 4
    decimals (the export's TED types it so), any other's in whole pesos."""
    total = dte_total(document)
    if document.document.is_export:
        text = format(total.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP), "f")
        return text.rstrip("0").rstrip(".")
    return str(int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def covering_range(document: FiscalDocument) -> FolioRange | None:
    """The loaded CAF the document's folio comes from, for a document this workspace
    issued. A supplier's document (a purchase not self-issued, or its credit note) has
    the supplier's folio: one of our CAFs of the same type may cover that number, but
    the document is not ours to stamp or to file as a DTE."""
    if document.number is None or not getattr(document, "self_issued", True):
        return None
    return FolioRange.objects.filter(
        workspace_id=document.workspace_id,
        test_mode=document.test_mode,
        document_type_id=document.document_id,
        first__lte=document.number,
        last__gte=document.number,
    ).first()


def document_data(document: FiscalDocument, folio_range: FolioRange) -> ET.Element:
    """The DD: issuer, type, folio, date, receiver, total, first item, CAF, stamp time."""
    # The receiver: a sale's customer, or the supplier of a document we issue for them.
    counterpart = document_counterpart(document)
    first_line = document.lines.first()  # type: ignore[attr-defined]
    stamped_at = document.finalized_at or document.created_at
    data = ET.Element("DD")
    _sub(data, "RE", document.workspace.tax_id)
    _sub(data, "TD", document.document.code)
    _sub(data, "F", str(document.number))
    _sub(data, "FE", document.date.isoformat())
    foreign = counterpart.country_id != "CL"
    _sub(data, "RR", FOREIGN_RUT if foreign else counterpart.tax_id or ANONYMOUS_RUT)
    _sub(data, "RSR", counterpart.name[:40])
    _sub(data, "MNT", _ted_total(document))
    _sub(data, "IT1", (first_line.name if first_line else "")[:40])
    data.append(_flat(ET.fromstring(folio_range.caf)))
    _sub(data, "TSTED", sii_timestamp(stamped_at, document.workspace))
    return data


def timbre(document: FiscalDocument) -> str | None:
    """The TED as XML text, or None when no loaded CAF covers the document's folio."""
    folio_range = covering_range(document)
    if folio_range is None:
        return None
    data = _flat(document_data(document, folio_range))
    signed = ET.tostring(data, encoding=ENCODING, xml_declaration=False)
    signature = folio_range_private_key(folio_range).sign(signed, padding.PKCS1v15(), hashes.SHA1())
    ted = ET.Element("TED", version="1.0")
    ted.append(data)
    ET.SubElement(ted, "FRMT", algoritmo="SHA1withRSA").text = base64.b64encode(signature).decode()
    return ET.tostring(ted, encoding="unicode")


def timbre_png(ted: str) -> bytes:
    """The TED as the PDF417 barcode the SII asks for (security level 5)."""
    codes = pdf417gen.encode(ted.encode(ENCODING), columns=18, security_level=5)
    image = pdf417gen.render_image(codes, scale=2, ratio=3, padding=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
