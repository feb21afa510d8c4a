"""The DTE of a finalized document as the SII's schema lays it out (DTE_v10.xsd):
<DTE><Documento ID=…> (or <Exportaciones>) with Encabezado (IdDoc, Emisor, Receptor,
Totales), Detalle, DscRcgGlobal, Referencia, the TED and TmstFirma. sign.py adds the
ds:Signature after it. A boleta's header and references follow the boleta schema
(boleta.py).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from billing.choices import DiscountScheme
from billing.counterparts import document_counterpart
from billing.dte_rules import check_dte_issuer, dte_line_limit
from billing.errors import DomainError
from billing.models import FiscalDocument
from billing.money import allocate
from billing.sii_text import sii_text
from billing.tax_settings import GIRO_MAX_LENGTH
from billing.timbre import dte_total, sii_timestamp, timbre
from invoices.dte.boleta import boleta_header, boleta_references
from invoices.dte.branch import branch_code, branch_name, origin
from invoices.dte.mapping import (
    ANONYMOUS_BUYER_RUT,
    BOLETA_TYPES,
    DOCUMENT_TYPES,
    EXPORT_TYPES,
    FOREIGN_BUYER_RUT,
    MAX_EMAIL,
    MAX_ITEM_DESCRIPTION,
    MAX_ITEM_NUMBER,
    MAX_NAME,
    MAX_REFERENCE_REASON,
    MAX_REFERENCES,
    MAX_UNIT,
    SII_NAMESPACE,
    TOTAL_IVA_RETENTION,
    currency_name,
    decimal_text,
    pesos,
    root_tag,
)
from invoices.models import Note


def _tag(name: str) -> str:
    return f"{{{SII_NAMESPACE}}}{name}"


def _sub(parent: Any, name: str, text: object = None) -> Any:
    element = etree.SubElement(parent, _tag(name))
    if text is not None:
        element.text = sii_text(str(text))
    return element


def _optional(parent: Any, name: str, text: object, limit: int | None = None) -> None:
    if text:
        _sub(parent, name, str(text)[:limit] if limit else text)


def document_id(document: FiscalDocument) -> str:
    """The Documento's ID, which the signature's Reference points at."""
    return f"F{document.number}T{document.document.code}"


class _Amounts:
    """How the document's amounts are written: whole pesos, or the export's currency."""

    def __init__(self, document: FiscalDocument) -> None:
        self.is_export = document.document.code in EXPORT_TYPES
        self.currency = document.currency_id

    def money(self, value: Decimal) -> str:
        return decimal_text(value, 4) if self.is_export else pesos(value)


def _id_doc(header: Any, document: FiscalDocument) -> None:
    id_doc = _sub(header, "IdDoc")
    _sub(id_doc, "TipoDTE", document.document.code)
    _sub(id_doc, "Folio", document.number)
    _sub(id_doc, "FchEmis", document.date.isoformat())
    # A boleta's note is priced as the boleta, IVA included (billing.totals): its Detalle
    # and DscRcgGlobal are gross amounts, which the SII reads as such only with MntBruto.
    if document.prices_include_tax:
        _sub(id_doc, "MntBruto", 1)
    due_date = getattr(document, "due_date", None)
    if due_date and document.document.code not in EXPORT_TYPES:
        _sub(id_doc, "FchVenc", due_date.isoformat())


def _issuer(header: Any, document: FiscalDocument) -> None:
    workspace = document.workspace
    issuer = _sub(header, "Emisor")
    _sub(issuer, "RUTEmisor", workspace.tax_id)
    _sub(issuer, "RznSoc", (workspace.legal_name or workspace.name)[: MAX_NAME["RznSoc"]])
    _sub(issuer, "GiroEmis", workspace.activity_description[: MAX_NAME["GiroEmis"]])
    _optional(issuer, "CorreoEmisor", workspace.email, MAX_EMAIL)
    _sub(issuer, "Acteco", workspace.activity_code)
    _optional(issuer, "Sucursal", branch_name(document), MAX_NAME["Sucursal"])
    _optional(issuer, "CdgSIISucur", branch_code(document))
    address, comuna, city = origin(document)
    _optional(issuer, "DirOrigen", address, MAX_NAME["Dir"])
    _optional(issuer, "CmnaOrigen", comuna, MAX_NAME["Cmna"])
    _optional(issuer, "CiudadOrigen", city, MAX_NAME["Ciudad"])


def _receiver(header: Any, document: FiscalDocument) -> None:
    # A sale's customer, or the supplier of a document we issue for them (a 46).
    party = document_counterpart(document)
    foreign = party.country_id != "CL"
    receiver = _sub(header, "Receptor")
    if foreign:
        _sub(receiver, "RUTRecep", FOREIGN_BUYER_RUT)
    else:
        _sub(receiver, "RUTRecep", party.tax_id or ANONYMOUS_BUYER_RUT)
    _sub(receiver, "RznSocRecep", party.name[: MAX_NAME["RznSoc"]])
    if foreign and party.tax_id:
        extranjero = _sub(receiver, "Extranjero")
        _sub(extranjero, "NumId", party.tax_id[:20])
    # The buyer's giro, from its tax_settings; the SII asks it of a factura's buyer.
    _optional(receiver, "GiroRecep", party.activity, GIRO_MAX_LENGTH)
    _optional(receiver, "CorreoRecep", party.email, MAX_EMAIL)
    _optional(receiver, "DirRecep", party.address, MAX_NAME["Dir"])
    comuna = party.comuna.name if party.comuna else ""
    _optional(receiver, "CmnaRecep", comuna, MAX_NAME["Cmna"])


def _totals(header: Any, document: FiscalDocument, amounts: _Amounts) -> None:
    totals = _sub(header, "Totales")
    if amounts.is_export:
        _sub(totals, "TpoMoneda", currency_name(document.currency_id))
        _sub(totals, "MntExe", amounts.money(document.exempt + document.amount))
        _sub(totals, "MntTotal", amounts.money(document.total))
        return
    if document.amount:
        _sub(totals, "MntNeto", pesos(document.amount))
    if document.exempt:
        _sub(totals, "MntExe", pesos(document.exempt))
    if document.amount:
        _sub(totals, "TasaIVA", decimal_text(document.tax_percent, 2))
        _sub(totals, "IVA", pesos(document.tax))
    # Additional taxes per SII code, apart from IVA; MntTotal includes them.
    for row in document.additional_taxes:
        additional = _sub(totals, "ImptoReten")
        _sub(additional, "TipoImp", row["code"])
        _sub(additional, "TasaImp", decimal_text(Decimal(row["percent"]), 2))
        _sub(additional, "MontoImp", pesos(Decimal(row["amount"])))
    if document.withholds_tax and document.retention:
        retention = _sub(totals, "ImptoReten")
        _sub(retention, "TipoImp", TOTAL_IVA_RETENTION)
        _sub(retention, "TasaImp", decimal_text(document.tax_percent, 2))
        _sub(retention, "MontoImp", pesos(document.retention))
    # What the receiver pays: the buyer of a 46 (and of its notes) withholds the IVA. The
    # TED repeats it.
    _sub(totals, "MntTotal", pesos(dte_total(document)))


def _details(root: Any, document: FiscalDocument, lines: list[Any], amounts: _Amounts) -> None:
    exempt_type = document.document.code in EXPORT_TYPES or not document.document.has_taxes
    for number, line in enumerate(lines, start=1):
        detail = _sub(root, "Detalle")
        _sub(detail, "NroLinDet", number)
        if line.code:
            code = _sub(detail, "CdgItem")
            _sub(code, "TpoCodigo", (line.code_scheme or "INT1")[:10])
            _sub(code, "VlrCodigo", line.code[:35])
        if line.exempt or exempt_type:
            _sub(detail, "IndExe", 1)
        _sub(detail, "NmbItem", line.name[: MAX_NAME["NmbItem"]])
        _optional(detail, "DscItem", line.description, MAX_ITEM_DESCRIPTION)
        # Prices in another unit (UF) are converted at the document's custom_change, as
        # the totals were (billing.totals).
        price = line.amount * document.custom_change
        # A quantity or price the schema cannot hold (a month of bytes) leaves both out,
        # as it allows: MontoItem alone states the item's amount.
        itemized = max(line.quantity, price) <= MAX_ITEM_NUMBER
        if itemized and line.quantity > 0:
            _sub(detail, "QtyItem", decimal_text(line.quantity, 6))
        _optional(detail, "UnmdItem", line.unit_label, MAX_UNIT)
        if itemized and price > 0:
            # Dec12_6Type in every DTE, an export's too: a unit price's 6 decimals.
            _sub(detail, "PrcItem", decimal_text(price, 6))
        units = line.gross if line.gross is not None else line.amount * line.quantity
        discount = units * document.custom_change - line.total
        if line.discount and discount > 0:
            if line.discount_scheme == DiscountScheme.PERCENT:
                _sub(detail, "DescuentoPct", decimal_text(line.discount, 2))
            if amounts.is_export:
                # An export's DescuentoMonto is whole by the schema: cents go in SubDscto.
                sub_discount = _sub(detail, "SubDscto")
                _sub(sub_discount, "TipoDscto", "$")
                _sub(sub_discount, "ValorDscto", decimal_text(discount, 2))
            else:
                _sub(detail, "DescuentoMonto", pesos(discount))
        if line.additional_tax:
            _sub(detail, "CodImpAdic", line.additional_tax)
        _sub(detail, "MontoItem", amounts.money(line.total))


def _global_discounts(
    root: Any, document: FiscalDocument, lines: list[Any], amounts: _Amounts
) -> None:
    """The document's discount as DscRcgGlobal: it is spread over every line, so its
    share on the taxable lines and its share on the exempt ones (IndExeDR 1) are given
    apart, in money, as the totals took them. A discount is never negative
    (billing.totals), so no row is a surcharge (TpoMov R)."""
    if not document.discount_amount:
        return
    shares = allocate(document.discount_amount, [line.total for line in lines], amounts.currency)
    exempt_type = document.document.code in EXPORT_TYPES or not document.document.has_taxes
    by_kind = {False: Decimal(0), True: Decimal(0)}
    for line, share in zip(lines, shares, strict=True):
        by_kind[bool(line.exempt or exempt_type)] += share
    number = 0
    for exempt, share in by_kind.items():
        if not share:
            continue
        number += 1
        row = _sub(root, "DscRcgGlobal")
        _sub(row, "NroLinDR", number)
        _sub(row, "TpoMov", "D")
        _sub(row, "GlosaDR", "Descuento global")
        _sub(row, "TpoValor", "$")
        _sub(row, "ValorDR", decimal_text(share, 2 if amounts.is_export else 0))
        if exempt and not amounts.is_export:
            _sub(row, "IndExeDR", 1)


def references(document: FiscalDocument) -> list[dict[str, Any]]:
    """The document's references; a note's first names the invoice it modifies (with its
    reason as CodRef) unless the caller named it already."""
    rows = [dict(row) for row in document.references]
    if isinstance(document, Note) and document.invoice.number is not None:
        invoice = document.invoice
        named = any(
            str(row.get("document")) == invoice.document.code
            and str(row.get("serial")) == str(invoice.number)
            for row in rows
        )
        if not named:
            rows.insert(
                0,
                {
                    "document": invoice.document.code,
                    "serial": str(invoice.number),
                    "date": invoice.date.isoformat(),
                    "code": document.reason,
                    "description": document.description,
                },
            )
    return rows


def _references(root: Any, document: FiscalDocument) -> None:
    for number, row in enumerate(references(document)[:MAX_REFERENCES], start=1):
        reference = _sub(root, "Referencia")
        _sub(reference, "NroLinRef", number)
        _sub(reference, "TpoDocRef", str(row.get("document") or "")[:3])
        _sub(reference, "FolioRef", str(row.get("serial") or "")[:18])
        _sub(reference, "FchRef", str(row.get("date") or document.date.isoformat())[:10])
        if row.get("code"):
            _sub(reference, "CodRef", row["code"])
        _optional(reference, "RazonRef", row.get("description"), MAX_REFERENCE_REASON)


def _ted(document: FiscalDocument) -> Any:
    ted = timbre(document)
    if ted is None:
        raise DomainError(
            "timbre_unavailable",
            f"No loaded CAF covers folio {document.number} of type {document.document.code}: "
            "a DTE carries the timbre signed with the CAF's key. Load the CAF the SII issued "
            "(POST /cafs/) before finalizing.",
        )
    # The TED comes without a namespace; in the DTE it is in the SII's.
    return etree.fromstring(ted.replace("<TED ", f'<TED xmlns="{SII_NAMESPACE}" ', 1).encode())


def dte_unsigned(document: FiscalDocument, *, now: datetime) -> Any:
    """The <DTE> element, without its signature."""
    code = document.document.code
    if document.number is None:
        raise DomainError("document_not_finalized", f"{document.pk} is a draft: it has no DTE.")
    if not getattr(document, "self_issued", True):
        raise DomainError(
            "dte_issued_by_supplier",
            f"{document.pk} is folio {document.number} of the supplier's own "
            f"{document.document.code}: the supplier issued its DTE and filed it with the SII. "
            "Only the documents this workspace issues (a 46, its notes) have a DTE here.",
        )
    if code not in DOCUMENT_TYPES | EXPORT_TYPES | BOLETA_TYPES:
        raise DomainError(
            "dte_type_unsupported",
            f"A {code} ({document.document.name}) has no DTE in the SII's DTE schema here.",
        )
    lines = list(document.lines.all())  # type: ignore[attr-defined]
    # Finalize refuses more (billing.documents.check_line_count); a document finalized
    # before it did cannot be laid out.
    limit = dte_line_limit(document)
    if limit is not None and len(lines) > limit:
        raise DomainError("dte_too_many_lines", f"A {code} DTE has at most {limit} lines.")
    check_dte_issuer(document)
    amounts = _Amounts(document)
    dte = etree.Element(_tag("DTE"), nsmap={None: SII_NAMESPACE}, version="1.0")
    body = _sub(dte, root_tag(code))
    body.set("ID", document_id(document))
    header = _sub(body, "Encabezado")
    boleta = code in BOLETA_TYPES
    if boleta:
        boleta_header(header, document, _sub, _optional)
    else:
        _id_doc(header, document)
        _issuer(header, document)
        _receiver(header, document)
        _totals(header, document, amounts)
    _details(body, document, lines, amounts)
    _global_discounts(body, document, lines, amounts)
    if boleta:
        boleta_references(body, references(document), _sub, _optional)
    else:
        _references(body, document)
    body.append(_ted(document))
    _sub(body, "TmstFirma", sii_timestamp(now, document.workspace))
    return dte
