"""The DTE, the XML a Chilean tax document is (rules.md §8): build.py lays it out in the
SII's schema with the TED, sign.py signs it with the workspace's certificate, mapping.py
says how our types and amounts become the SII's elements."""

import base64
from datetime import datetime

from lxml import etree

from billing.models import FiscalDocument
from billing.services.certificates import certificate_for_signing
from billing.timbre import covering_range
from invoices.dte.build import document_id, dte_unsigned
from invoices.dte.mapping import BOLETA_TYPES, DOCUMENT_TYPES, ENCODING, EXPORT_TYPES
from invoices.dte.sign import sign


def dte_xml(document: FiscalDocument, *, now: datetime) -> bytes:
    """The signed DTE of a finalized document, in ISO-8859-1 as the SII takes it."""
    unsigned = dte_unsigned(document, now=now)
    key = certificate_for_signing(
        workspace=document.workspace, test_mode=document.test_mode, now=now
    )
    signed = sign(unsigned, reference_id=document_id(document), key=key)
    return bytes(etree.tostring(signed, encoding=ENCODING, xml_declaration=True))


def dte_filename(document: FiscalDocument) -> str:
    return f"DTE-{document.document.code}-{document.number}.xml"


def dte_for_filing(document: FiscalDocument) -> str | None:
    """The signed DTE in base64 for the tax agency, signed as of finalize; None for a
    document without one (not Chilean, a type without a DTE, or no loaded CAF)."""
    if (
        document.workspace.country_id != "CL"
        or document.document.code not in DOCUMENT_TYPES | EXPORT_TYPES | BOLETA_TYPES
        or covering_range(document) is None
    ):
        return None
    signed_at = document.finalized_at or document.created_at
    return base64.b64encode(dte_xml(document, now=signed_at)).decode()
