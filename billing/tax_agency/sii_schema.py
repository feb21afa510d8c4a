"""The SII's DTE schema (DTE_v10.xsd and the XMLDSig schema it imports, as the `cl-sii`
package ships them): what the sandbox agency checks a DTE's XML against, as the SII does
before anything else."""

from typing import Any

from cl_sii.dte.parse import DTE_XML_SCHEMA_OBJ
from lxml import etree


def schema_errors(dte: Any) -> list[str]:
    """Why the DTE (an lxml element) does not follow the schema; empty when it does."""
    if DTE_XML_SCHEMA_OBJ.validate(dte):
        return []
    return [f"line {error.line}: {error.message}" for error in DTE_XML_SCHEMA_OBJ.error_log]


def parse(xml: bytes) -> Any:
    """A DTE's bytes as an lxml element; no DTDs, entities or network (untrusted input)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(xml, parser=parser)
