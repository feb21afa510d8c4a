"""The branch (org unit) a DTE is issued from, and the origin address its Emisor gives.

The origin (DirOrigen, CmnaOrigen, CiudadOrigen) is where the document is issued: the
branch's address when the document names a branch that has one, else the head office's
(the workspace's). It is taken whole from one of them, never field by field: a branch's
street with the head office's comuna would be an address that does not exist."""

from typing import NamedTuple

from billing.models import FiscalDocument
from invoices.models import Note
from organization.models import OrgUnit


class Origin(NamedTuple):
    address: str
    comuna: str
    city: str


def issuing_branch(document: FiscalDocument) -> OrgUnit | None:
    """The org unit the document is issued from: an invoice's own, a note's that of its
    invoice (a note is issued where its invoice was)."""
    if isinstance(document, Note):
        document = document.invoice
    unit: OrgUnit | None = getattr(document, "orgunit", None)
    return unit


def branch_code(document: FiscalDocument) -> str:
    """The SII's code of the branch the document is issued from (CdgSIISucur), or ""."""
    unit = issuing_branch(document)
    return unit.sii_branch_code if unit else ""


def branch_name(document: FiscalDocument) -> str:
    """The name of the branch the document is issued from (Sucursal), or ""."""
    unit = issuing_branch(document)
    return unit.name if unit else ""


def origin(document: FiscalDocument) -> Origin:
    unit = issuing_branch(document)
    holder = unit if unit and unit.address else document.workspace
    comuna = holder.comuna.name if holder.comuna else ""
    return Origin(holder.address, comuna, holder.city)
