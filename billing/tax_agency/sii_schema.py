"""A DTE's XML checked as the SII checks it on arrival: against its schema (DTE_v10.xsd
and the XMLDSig schema it imports, as the `cl-sii` package ships them; a boleta's, 39 or
41, against the SII's boleta schema, EnvioBOLETA_v11.xsd, kept in schemas/), its XMLDSig
signature against the certificate it carries, and its timbre (TED) against the CAF's
public key printed inside it.

The sandbox agency trusts any certificate; the SII also requires one registered for
the issuer, which no sandbox can know.
"""

import base64
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import cl_sii
from cl_sii.dte.parse import DTE_XML_SCHEMA_OBJ
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.algorithms import DigestAlgorithm
from signxml.exceptions import InvalidInput as SignxmlInvalidInput
from signxml.exceptions import InvalidSignature as SignxmlInvalidSignature

SII = "{http://www.sii.cl/SiiDte}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
# What the SII's schema fixes: RSA-SHA1 over a SHA-1 digest.
SII_SIGNATURE = SignatureConfiguration(
    signature_methods=frozenset({SignatureMethod.RSA_SHA1}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA1}),
    require_x509=True,
)


BOLETA_TYPES = {"39", "41"}
BOLETA_SCHEMA = Path(__file__).resolve().parent / "schemas" / "EnvioBOLETA_v11.xsd"
XMLDSIG_SCHEMA = (
    Path(cl_sii.__file__).resolve().parent
    / "data/ref/factura_electronica/schemas-xml/xmldsignature_v10.xsd"
)
XS = "{http://www.w3.org/2001/XMLSchema}"


@cache
def boleta_schema() -> etree.XMLSchema:
    """The boleta's DTE as the SII's boleta schema types it (BOLETADefType), as a document
    of its own: the schema only declares the upload (EnvioBOLETA) at its top level."""
    boletas = etree.parse(str(BOLETA_SCHEMA))
    imported = boletas.getroot().find(f"{XS}import")
    assert imported is not None
    # The XMLDSig schema it imports beside it is cl-sii's copy.
    imported.set("schemaLocation", XMLDSIG_SCHEMA.as_uri())
    dte = etree.SubElement(boletas.getroot(), f"{XS}element")
    dte.set("name", "DTE")
    dte.set("type", "SiiDte:BOLETADefType")
    return etree.XMLSchema(boletas)


def _schema_for(dte: Any) -> etree.XMLSchema:
    code = dte.findtext(".//{http://www.sii.cl/SiiDte}IdDoc/{http://www.sii.cl/SiiDte}TipoDTE")
    return boleta_schema() if code in BOLETA_TYPES else DTE_XML_SCHEMA_OBJ


def parse(xml: bytes) -> Any:
    """A DTE's bytes as an lxml element; no DTDs, entities or network (untrusted input)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(xml, parser=parser)


def schema_errors(dte: Any) -> list[str]:
    """Why the DTE (an lxml element) does not follow the schema; empty when it does."""
    schema = _schema_for(dte)
    if schema.validate(dte):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def signature_error(xml: bytes, *, at: datetime) -> str | None:
    """Why the DTE's XMLDSig does not verify with the certificate in its KeyInfo, the
    certificate judged valid or not at `at`: the agency's time, which for a test-mode
    document on a test clock is the clock's, as was the signing."""
    dte = parse(xml)
    certificate = dte.findtext(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    if not certificate:
        return "The signature carries no X509Certificate."
    pem = "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n".format(
        "".join(certificate.split())
    )
    try:
        XMLVerifier().verify(
            xml, x509_cert=pem, expect_config=replace(SII_SIGNATURE, verification_time=at)
        )
    except (SignxmlInvalidSignature, SignxmlInvalidInput, ValueError) as exc:
        return str(exc) or exc.__class__.__name__
    return None


def _plain(element: Any) -> ET.Element:
    """The element as the TED's signer saw it: the same tags without the namespace."""
    plain = ET.fromstring(etree.tostring(element))
    for node in plain.iter():
        node.tag = node.tag.split("}")[-1]
    return plain


def timbre_error(dte: Any) -> str | None:
    """Why the TED's FRMT is not the CAF key's SHA1withRSA signature of its DD."""
    ted = dte.find(f".//{SII}TED")
    if ted is None:
        return "The DTE has no TED."
    plain = _plain(ted)
    data = plain.find("DD")
    modulus = plain.findtext("DD/CAF/DA/RSAPK/M")
    exponent = plain.findtext("DD/CAF/DA/RSAPK/E")
    if data is None or not modulus or not exponent:
        return "The TED's CAF has no RSAPK."
    public = rsa.RSAPublicNumbers(
        int.from_bytes(base64.b64decode(exponent), "big"),
        int.from_bytes(base64.b64decode(modulus), "big"),
    ).public_key()
    signed = ET.tostring(data, encoding="ISO-8859-1", xml_declaration=False)
    try:
        public.verify(
            base64.b64decode(plain.findtext("FRMT") or ""),
            signed,
            padding.PKCS1v15(),
            hashes.SHA1(),
        )
    except (InvalidSignature, ValueError):
        return "FRMT is not the CAF key's signature of the DD."
    return None
