"""The boleta's DTE (39, 41) as the SII's boleta schema lays it out (EnvioBOLETA_v11.xsd,
BOLETADefType): the factura's Detalle, DscRcgGlobal, TED and signature, with a header and
references of its own. Its amounts are the boleta's gross prices (IVA included); MntNeto
and IVA are the ones derived from them at finalize (billing.totals)."""

from typing import Any

from billing.counterparts import document_counterpart
from billing.models import FiscalDocument
from invoices.dte.branch import branch_code, origin
from invoices.dte.mapping import (
    ANONYMOUS_BUYER_RUT,
    FOREIGN_BUYER_RUT,
    MAX_EMAIL,
    MAX_NAME,
    MAX_REFERENCE_REASON,
    MAX_REFERENCES,
    SALES_AND_SERVICES,
    pesos,
)


def boleta_header(header: Any, document: FiscalDocument, sub: Any, optional: Any) -> None:
    """IdDoc, Emisor, Receptor and Totales under `header`, with the builder's `sub` and
    `optional` (build.py's element helpers). The boleta's Emisor has no Sucursal: the
    issuing branch is its code and its address (branch.py)."""
    id_doc = sub(header, "IdDoc")
    sub(id_doc, "TipoDTE", document.document.code)
    sub(id_doc, "Folio", document.number)
    sub(id_doc, "FchEmis", document.date.isoformat())
    sub(id_doc, "IndServicio", SALES_AND_SERVICES)

    workspace = document.workspace
    issuer = sub(header, "Emisor")
    sub(issuer, "RUTEmisor", workspace.tax_id)
    sub(issuer, "RznSocEmisor", (workspace.legal_name or workspace.name)[: MAX_NAME["RznSoc"]])
    optional(issuer, "GiroEmisor", workspace.activity_description, MAX_NAME["GiroEmis"])
    optional(issuer, "CdgSIISucur", branch_code(document))
    address, comuna, city = origin(document)
    optional(issuer, "DirOrigen", address, MAX_NAME["Dir"])
    optional(issuer, "CmnaOrigen", comuna, MAX_NAME["Cmna"])
    optional(issuer, "CiudadOrigen", city, MAX_NAME["Ciudad"])

    # A boleta's buyer need not identify themselves: the SII's anonymous RUT then, as the
    # timbre's RR says (billing.timbre).
    customer = document_counterpart(document)
    receiver = sub(header, "Receptor")
    if customer.country_id != "CL":
        sub(receiver, "RUTRecep", FOREIGN_BUYER_RUT)
    else:
        sub(receiver, "RUTRecep", customer.tax_id or ANONYMOUS_BUYER_RUT)
    optional(receiver, "RznSocRecep", customer.name, MAX_NAME["RznSoc"])
    optional(receiver, "CorreoRecep", customer.email, MAX_EMAIL)
    optional(receiver, "DirRecep", customer.address, MAX_NAME["Dir"])
    optional(
        receiver, "CmnaRecep", customer.comuna.name if customer.comuna else "", MAX_NAME["Cmna"]
    )

    totals = sub(header, "Totales")
    if document.amount:
        sub(totals, "MntNeto", pesos(document.amount))
    if document.exempt:
        sub(totals, "MntExe", pesos(document.exempt))
    if document.amount:
        sub(totals, "IVA", pesos(document.tax))
    sub(totals, "MntTotal", pesos(document.total))


def boleta_references(body: Any, rows: list[dict[str, Any]], sub: Any, optional: Any) -> None:
    """The boleta's Referencia has no date (FchRef) and a free-text CodRef."""
    for number, row in enumerate(rows[:MAX_REFERENCES], start=1):
        reference = sub(body, "Referencia")
        sub(reference, "NroLinRef", number)
        optional(reference, "TpoDocRef", str(row.get("document") or "")[:3])
        optional(reference, "FolioRef", str(row.get("serial") or "")[:18])
        optional(reference, "CodRef", row.get("code"), 18)
        optional(reference, "RazonRef", row.get("description"), MAX_REFERENCE_REASON)
