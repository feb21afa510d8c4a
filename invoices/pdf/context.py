"""What a document's PDF shows: the kinds of fiscal document rendered (other apps register
theirs), money and numbers in the currency's style, the labels in the workspace's
language, and the template's context, already formatted."""

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from billing.counterparts import Counterpart, document_counterpart, order_counterpart
from billing.documents import document_taxes
from billing.models import DocumentType, FiscalDocument, Line, Workspace
from billing.money import minor_units
from billing.tax_ids import display_tax_id
from billing.timbre import timbre, timbre_png
from invoices.dte.branch import issuing_branch
from invoices.models import CreditNote, DebitNote, Invoice, Order, OrderStatus
from organization.models import BankAccount, OrgUnit


@dataclass(frozen=True)
class PdfDocumentKind:
    """How one model of fiscal document is rendered.

    Other apps' documents (procurement's purchases and retentions) register their own kind,
    so the pdf package renders, stores and links them without knowing them.
    """

    model: type[FiscalDocument]
    counterpart_label: str = "customer"  # the other party's label's key in LABELS
    template: str = "invoices/document.html"
    related: tuple[str, ...] = ()  # more select_related for the render
    # Adjusts the formatted context (e.g. a retention's own totals rows).
    context: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None


PDF_DOCUMENTS: dict[type[FiscalDocument], PdfDocumentKind] = {}


def pdf_register(kind: PdfDocumentKind) -> None:
    PDF_DOCUMENTS[kind.model] = kind


# The branch printed, with its comuna (`_orgunit`).
pdf_register(PdfDocumentKind(Invoice, related=("orgunit__comuna",)))
pdf_register(PdfDocumentKind(CreditNote, related=("invoice__document", "invoice__orgunit__comuna")))
pdf_register(PdfDocumentKind(DebitNote, related=("invoice__document", "invoice__orgunit__comuna")))
_UNIT_PRICE_MAX_PLACES = 6


# --- Money and numbers -------------------------------------------------------------


@dataclass(frozen=True)
class NumberStyle:
    symbol: str
    thousands: str
    decimal: str


_STYLES = {
    "CLP": NumberStyle("$", ".", ","),
    "CLF": NumberStyle("UF", ".", ","),
    "USD": NumberStyle("US$", ",", "."),
    "EUR": NumberStyle("€", ".", ","),
}


def number_style(currency: str) -> NumberStyle:
    return _STYLES.get(currency.upper(), NumberStyle(currency.upper(), ",", "."))


def format_number(value: Decimal, places: int, style: NumberStyle) -> str:
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{abs(rounded):,.{places}f}".translate(
        str.maketrans(",.", style.thousands + style.decimal)
    )
    return f"-{text}" if rounded < 0 else text


def format_money(amount: Decimal, currency: str, *, exact: bool = False) -> str:
    """`$ 43.742` (CLP), `US$ 1,234.50` (USD): the currency's symbol, separators and
    minor units, rounded half-up. `exact` keeps the extra decimals a unit price may have."""
    places = minor_units(currency)
    if exact:
        exponent = Decimal(amount).normalize().as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) else 0
        places = min(max(places, decimals), _UNIT_PRICE_MAX_PLACES)
    style = number_style(currency)
    text = format_number(amount, places, style)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{style.symbol} {digits}"


def format_decimal(value: Decimal, currency: str) -> str:
    """A quantity or a percent: no padding zeros, the currency's separators."""
    exponent = Decimal(value).normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return format_number(value, places, number_style(currency))


# --- Labels --------------------------------------------------------------------------

_SPANISH_COUNTRIES = {"AR", "BO", "CL", "CO", "EC", "ES", "MX", "PE", "PY", "UY"}

LABELS: dict[str, dict[str, Any]] = {
    "es": {
        "lang": "es",
        "document_code": "Tipo",
        "activity": "Giro",
        "activity_code": "Acteco",
        "comuna": "Comuna",
        "city": "Ciudad",
        "payment_terms": "Forma de pago",
        "cash": "Contado",
        "credit": "Crédito",
        "resolution": "Res. N° {number} de {year}",
        "customer": "Señor(es)",
        "supplier": "Proveedor",
        "address": "Dirección",
        "email": "Correo",
        "date": "Fecha de emisión",
        "due_date": "Vencimiento",
        "period": "Período",
        "currency": "Moneda",
        "custom_change": "Tipo de cambio",
        "description": "Descripción",
        "quantity": "Cantidad",
        "unit_price": "Precio unitario",
        "discount": "Descuento",
        "line_total": "Total",
        "exempt_line": "exento",
        "document_discount": "Descuento global",
        "amount": "Neto",
        "exempt": "Exento",
        "tax": "IVA",
        "additional_tax": "Imp. adicional",
        "total": "Total",
        "retention": "Retención",
        "total_adjusted": "Total a pagar",
        "references": "Referencias",
        "reference_document": "Documento",
        "reference_serial": "Folio",
        "reference_date": "Fecha",
        "reference_reason": "Motivo",
        "note": "Observaciones",
        "tracking": "Seguimiento tributario",
        "orgunit": "Sucursal",
        "bank_accounts": "Datos para transferencia",
        "account_types": {
            "checking": "Cuenta corriente",
            "savings": "Cuenta de ahorro",
            "sight": "Cuenta vista",
        },
        "draft": "Borrador",
        "order": "Orden de venta",
        "number": "N°",
        "page": "Página",
        "of": "de",
        "date_format": "%d-%m-%Y",
        "reasons": {
            1: "Anula documento de referencia",
            2: "Corrige texto del documento de referencia",
            3: "Corrige montos",
        },
    },
    "en": {
        "lang": "en",
        "document_code": "Type",
        "activity": "Activity",
        "activity_code": "Activity code",
        "comuna": "Comuna",
        "city": "City",
        "payment_terms": "Payment terms",
        "cash": "Cash",
        "credit": "Credit",
        "resolution": "Resolution No. {number} of {year}",
        "customer": "Bill to",
        "supplier": "Supplier",
        "address": "Address",
        "email": "Email",
        "date": "Issue date",
        "due_date": "Due date",
        "period": "Period",
        "currency": "Currency",
        "custom_change": "Exchange rate",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "discount": "Discount",
        "line_total": "Total",
        "exempt_line": "exempt",
        "document_discount": "Discount",
        "amount": "Net",
        "exempt": "Exempt",
        "tax": "Tax",
        "additional_tax": "Additional tax",
        "total": "Total",
        "retention": "Retention",
        "total_adjusted": "Total due",
        "references": "References",
        "reference_document": "Document",
        "reference_serial": "Number",
        "reference_date": "Date",
        "reference_reason": "Reason",
        "note": "Notes",
        "tracking": "Tax agency tracking id",
        "orgunit": "Branch",
        "bank_accounts": "Bank transfer details",
        "account_types": {
            "checking": "Checking account",
            "savings": "Savings account",
            "sight": "Sight account",
        },
        "draft": "Draft",
        "order": "Sales order",
        "number": "No.",
        "page": "Page",
        "of": "of",
        "date_format": "%d %b %Y",
        "reasons": {
            1: "Annuls the referenced document",
            2: "Corrects the referenced document's text",
            3: "Corrects amounts",
        },
    },
}


def labels_for(country_code: str) -> dict[str, Any]:
    return LABELS["es" if country_code in _SPANISH_COUNTRIES else "en"]


# --- Context -------------------------------------------------------------------------


def _format_date(value: date | str | None, date_format: str) -> str:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime(date_format)
        except ValueError:
            return value  # a reference's date as the caller wrote it
    return value.strftime(date_format) if value else ""


def _line_discount(line: Any, currency: str, custom_change: Decimal) -> str:
    if not line.discount:
        return ""
    if line.discount_scheme == "%":
        return f"{format_decimal(line.discount, currency)}%"
    return format_money(line.discount * custom_change, currency, exact=True)


def _references(document: FiscalDocument, text: dict[str, Any]) -> list[dict[str, str]]:
    rows = [dict(reference) for reference in document.references]
    if isinstance(document, CreditNote | DebitNote):
        # A note always names the invoice it corrects, whether or not the caller did.
        invoice = document.invoice
        serial = str(invoice.number or "")
        if not any(
            str(row.get("document")) == invoice.document.code and str(row.get("serial")) == serial
            for row in rows
        ):
            rows.insert(
                0,
                {
                    "document": invoice.document.code,
                    "serial": serial,
                    "date": invoice.date,
                    "code": document.reason,
                    "description": document.description,
                },
            )
    codes = {str(row.get("document")) for row in rows}
    names = dict(
        DocumentType.objects.filter(
            country_id=document.workspace.country_id, code__in=codes
        ).values_list("code", "name")
    )
    return [
        {
            "document": " ".join(
                filter(None, [str(row.get("document", "")), names.get(str(row.get("document")))])
            ),
            "serial": str(row.get("serial", "")),
            "date": _format_date(row.get("date"), text["date_format"]),
            "reason": " — ".join(
                filter(None, [text["reasons"].get(row.get("code"), ""), row.get("description")])
            ),
        }
        for row in rows
    ]


def _issuer(workspace: Workspace, text: dict[str, Any]) -> dict[str, Any]:
    """The issuer as Chile's documents print it: legal name, giro, head office, and the
    SII's office and resolution under the folio."""
    comuna = workspace.comuna.name if workspace.comuna else ""
    resolution = ""
    if workspace.sii_resolution_number is not None and workspace.sii_resolution_date:
        resolution = text["resolution"].format(
            number=workspace.sii_resolution_number, year=workspace.sii_resolution_date.year
        )
    return {
        "name": workspace.legal_name or workspace.name,
        "tax_id_name": workspace.country.tax_id_name,
        "tax_id": display_tax_id(workspace.country_id, workspace.tax_id),
        "activity": workspace.activity_description,
        "activity_code": workspace.activity_code or "",
        "address": workspace.address,
        "place": ", ".join(filter(None, [comuna, workspace.city])),
        "email": workspace.email,
        "sii_office": workspace.sii_office,
        "resolution": resolution,
    }


def _payment_terms(document: FiscalDocument, text: dict[str, Any]) -> str:
    """Chile's forma de pago: on credit when the invoice falls due after its date."""
    if not isinstance(document, Invoice):
        return ""
    due_date = document.due_date
    return text["credit"] if due_date and due_date > document.date else text["cash"]


def _timbre(document: FiscalDocument) -> dict[str, str] | None:
    """The TED and its PDF417 image, for an issued document whose folio a loaded CAF covers."""
    ted = timbre(document) if document.finalized_at else None
    if ted is None:
        return None
    image = base64.b64encode(timbre_png(ted)).decode()
    return {"ted": ted, "image": f"data:image/png;base64,{image}"}


def _orgunit(unit: OrgUnit | None) -> str:
    """A branch as the documents issued from it name it: its name, its address as the DTE
    gives it for the origin (street, comuna, city) and its SII code."""
    if unit is None:
        return ""
    comuna = unit.comuna.name if unit.comuna else ""
    address = ", ".join(filter(None, [unit.address, comuna, unit.city]))
    code = f"({unit.sii_branch_code})" if unit.sii_branch_code else ""
    return " ".join(filter(None, [unit.name, address, code]))


def _bank_accounts(document: FiscalDocument, text: dict[str, Any]) -> list[str]:
    """The workspace's accounts in the document's currency it prints on its sales, for
    payment by transfer."""
    if not isinstance(document, Invoice):
        return []
    accounts = BankAccount.objects.filter(
        workspace_id=document.workspace_id,
        test_mode=document.test_mode,
        currency_id=document.currency_id,
        on_documents=True,
    ).order_by("created_at", "id")
    return [_bank_account_line(account, text) for account in accounts]


def _bank_account_line(account: BankAccount, text: dict[str, Any]) -> str:
    kind = text["account_types"].get(account.account_type, "")
    parts = [account.bank_name, kind, account.account_number, account.holder_name]
    return " · ".join(filter(None, [*parts, account.holder_tax_id, account.email]))


def _additional_tax_tag(line: Any, text: dict[str, Any], currency: str) -> str:
    """The additional tax a line bears, as its tag: "Imp. adicional 24 31,5%"."""
    if not line.additional_tax:
        return ""
    percent = format_decimal(line.additional_tax_percent, currency)
    return f"{text['additional_tax']} {line.additional_tax} {percent}%"


def document_context(document: FiscalDocument) -> dict[str, Any]:
    """Everything the template shows, already formatted."""
    workspace = document.workspace
    kind = PDF_DOCUMENTS[type(document)]
    # The other party: the customer of a sale, the supplier of a purchase.
    customer = document_counterpart(document)
    currency = document.currency_id
    text = dict(labels_for(workspace.country_id))
    text["customer"] = text[kind.counterpart_label]
    change = document.custom_change

    period = ""
    if isinstance(document, Invoice) and document.period_start and document.period_end:
        period = " – ".join(
            _format_date(day, text["date_format"])
            for day in (document.period_start, document.period_end)
        )
    context = {
        "text": text,
        "draft": document.finalized_at is None,
        "document_name": document.document.name,
        "document_code": document.document.code,
        "number": document.number,
        "issuer": _issuer(workspace, text),
        "customer": _party(customer, text),
        "date": _format_date(document.date, text["date_format"]),
        "due_date": _format_date(getattr(document, "due_date", None), text["date_format"]),
        "payment_terms": _payment_terms(document, text),
        "period": period,
        "currency": currency,
        "custom_change": format_decimal(change, currency) if change != 1 else "",
        "lines": _line_rows(cast(Any, document).lines.all(), text, currency, change),
        "totals": _totals(document, text, currency, has_taxes=document.document.has_taxes),
        "references": _references(document, text),
        "tracking_id": document.tax_agency_tracking_id,
        "timbre": _timbre(document),
        "note": document.note,
        "orgunit": _orgunit(issuing_branch(document)),
        "bank_accounts": _bank_accounts(document, text),
    }
    return kind.context(document, context) if kind.context else context


def order_context(order: Order) -> dict[str, Any]:
    """An order printed in its invoice's layout: not a fiscal document, so it has no
    folio, timbre or references. Once confirmed its id stands for the number it lacks; a
    draft is marked a draft, as an invoice's is. The branch it names is printed, as its
    invoice will print it."""
    text = dict(labels_for(order.workspace.country_id))
    currency = order.currency_id
    has_taxes = order.document.has_taxes if order.document else bool(order.tax)
    draft = order.status == OrderStatus.DRAFT
    return {
        "text": text,
        "draft": draft,
        "document_name": text["order"],
        "document_code": "",
        "number": None if draft else order.id,
        "issuer": _issuer(order.workspace, text),
        "customer": _party(order_counterpart(order), text),
        "date": _format_date(order.date, text["date_format"]),
        "due_date": "",
        "payment_terms": "",
        "period": "",
        "currency": currency,
        "custom_change": "",
        "lines": _line_rows(order.items.all(), text, currency, Decimal(1)),
        "totals": _totals(order, text, currency, has_taxes=has_taxes),
        "references": [],
        "tracking_id": "",
        "timbre": None,
        "note": order.note,
        "orgunit": _orgunit(order.orgunit),
        "bank_accounts": [],
    }


def _line_rows(
    lines: Iterable[Line], text: dict[str, Any], currency: str, change: Decimal
) -> list[dict[str, Any]]:
    return [
        {
            "name": line.name,
            "code": line.code,
            "description": line.description,
            "exempt": line.exempt,
            "additional_tax": _additional_tax_tag(line, text, currency),
            "quantity": " ".join(
                filter(None, [format_decimal(line.quantity, currency), line.unit_label])
            ),
            "unit_price": format_money(line.amount * change, currency, exact=True),
            "discount": _line_discount(line, currency, change),
            "total": format_money(line.total, currency),
        }
        for line in lines
    ]


def _totals(
    document: FiscalDocument | Order, text: dict[str, Any], currency: str, *, has_taxes: bool
) -> list[tuple[str, str, bool]]:
    """The totals rows: (label, amount, emphasized)."""

    def money(value: Decimal) -> str:
        return format_money(value, currency)

    # An order bears no additional taxes and no retention: its invoice computes them.
    additional_taxes = getattr(document, "additional_taxes", [])
    retention = getattr(document, "retention", Decimal(0))
    totals: list[tuple[str, str, bool]] = []
    if document.discount_amount:
        percent = (
            f" ({format_decimal(document.discount, currency)}%)"
            if document.discount_scheme == "%"
            else ""
        )
        totals.append(
            (f"{text['document_discount']}{percent}", money(-document.discount_amount), False)
        )
    if has_taxes:
        totals.append((text["amount"], money(document.amount), False))
    if document.exempt or not has_taxes:
        totals.append((text["exempt"], money(document.exempt), False))
    if has_taxes:
        for rate, tax in _tax_rows(document):
            label = f"{text['tax']} {format_decimal(rate, currency)}%"
            totals.append((label, money(tax), False))
    # Additional taxes apart from IVA, one row per SII code (rules.md §8).
    for row in additional_taxes:
        label = f"{text['additional_tax']} {row['code']} "
        label += f"{format_decimal(Decimal(row['percent']), currency)}%"
        totals.append((label, money(Decimal(row["amount"])), False))
    totals.append((text["total"], money(document.total), not retention))
    if retention:
        totals.append((text["retention"], money(-retention), False))
        totals.append((text["total_adjusted"], money(cast(Any, document).total_adjusted), True))
    return totals


def _tax_rows(document: FiscalDocument | Order) -> list[tuple[Decimal, Decimal]]:
    """(rate, tax) per rate of the lines, so that each row's tax is its rate of a net; one
    row under the document's rate when its lines bear one rate (or none, or it is an
    order, whose invoice computes the taxes)."""
    if isinstance(document, Order):
        return [(document.tax_percent, document.tax)]
    rows = document_taxes(document, list(cast(Any, document).lines.all()))
    # The stored tax is what the document states: a breakdown that would not add up to
    # it (rules changed since its finalize) is not printed.
    if len(rows) < 2 or sum(row.amount for row in rows) != document.tax:
        return [(rows[0].percent if len(rows) == 1 else document.tax_percent, document.tax)]
    return [(row.percent, row.amount) for row in rows]


def _party(customer: Counterpart, text: dict[str, Any]) -> dict[str, Any]:
    """The other party as the document prints it: a customer, or a purchase's supplier."""
    customer_place = ", ".join(
        filter(
            None,
            [
                customer.comuna.name if customer.comuna else "",
                customer.state.name if customer.state else "",
                customer.country.name,
            ],
        )
    )
    return {
        "name": customer.name,
        "tax_id_name": customer.country.tax_id_name,
        "tax_id": display_tax_id(customer.country_id, customer.tax_id),
        "activity": customer.activity,
        "address": customer.address,
        "place": customer_place,
        "email": customer.email,
    }
