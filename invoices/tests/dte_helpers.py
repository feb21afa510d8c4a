"""Reading a DTE back as the SII would: its schema, its timbre and its signature."""

import base64
import xml.etree.ElementTree as ET
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.utils import timezone
from lxml import etree
from signxml import SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.algorithms import DigestAlgorithm

from billing.models import Certificate, Workspace
from billing.services.folios import folio_range_load
from billing.tax_agency.sii_schema import parse, schema_errors
from billing.tests.caf_helpers import caf_xml

SII = "{http://www.sii.cl/SiiDte}"
CAF_TYPES = (33, 34, 39, 41, 46, 56, 61, 110, 111, 112)


def load_cafs(workspace: Workspace, test_mode: bool = False) -> dict[int, rsa.RSAPrivateKey]:
    """A CAF of folios 1–50 for every type with a DTE; their keys by type."""
    keys = {}
    for code in CAF_TYPES:
        keys[code] = rsa.generate_private_key(public_exponent=3, key_size=1024)
        folio_range_load(
            workspace=workspace,
            test_mode=test_mode,
            caf=caf_xml(document=code, first=1, last=50, key=keys[code]),
            now=timezone.now(),
        )
    return keys


def valid_dte(xml: bytes) -> Any:
    """The DTE parsed, after asserting it follows the SII's schema."""
    dte = parse(xml)
    errors = schema_errors(dte)
    assert not errors, errors
    return dte


def receiver_and_timbre(xml: bytes) -> tuple[bytes, bytes]:
    """The DTE's Receptor and TED, as signed: what it says of the other party. (The whole
    DTE is signed anew at each download, with the time of the download.)"""
    dte = valid_dte(xml)
    return (
        etree.tostring(dte.find(f".//{SII}Receptor")),
        etree.tostring(dte.find(f".//{SII}TED")),
    )


def text(dte: Any, path: str) -> str | None:
    """The text at a path of SII elements, e.g. "Documento/Encabezado/Totales/MntTotal"."""
    return dte.findtext("/".join(f"{SII}{step}" for step in path.split("/")))


def verify_timbre(dte: Any, key: rsa.RSAPrivateKey) -> None:
    """Raises InvalidSignature unless the CAF's key signed the TED's DD as printed."""
    ted = dte.find(f".//{SII}TED")
    plain = ET.fromstring(etree.tostring(ted))
    for node in plain.iter():
        node.tag = node.tag.split("}")[-1]
    data = plain.find("DD")
    assert data is not None
    signed = ET.tostring(data, encoding="ISO-8859-1", xml_declaration=False)
    signature = base64.b64decode(plain.findtext("FRMT") or "")
    key.public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA1())


def verify_signature(xml: bytes, certificate: Certificate) -> Any:
    """What the XMLDSig signed, verified against the workspace's certificate (signxml)."""
    config = SignatureConfiguration(
        signature_methods=frozenset({SignatureMethod.RSA_SHA1}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA1}),
        require_x509=True,
    )
    result = XMLVerifier().verify(xml, x509_cert=certificate.certificate, expect_config=config)
    return result.signed_xml
