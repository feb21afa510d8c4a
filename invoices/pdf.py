"""Document PDFs: rendered once after finalize, stored, and handed out by signed links.

A finalized document's PDF is what its customer received, so it is rendered exactly once
(the first render to be stored wins) and never again. Drafts are previewed on demand and
never stored. Links to stored PDFs are signed and expire, so they can travel by email
without an API token.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify

from billing.models import DocumentType, FiscalDocument
from billing.money import minor_units
from invoices.models import CreditNote, DebitNote, Invoice


@dataclass(frozen=True)
class PdfDocumentKind:
    """How one model of fiscal document is rendered.

    Other apps' documents (procurement's purchases and retentions) register their own kind,
    so this module renders, stores and links them without knowing them.
    """

    model: type[FiscalDocument]
    counterpart: str = "customer"  # the foreign key naming the other party
    counterpart_label: str = "customer"  # its label's key in LABELS
    template: str = "invoices/document.html"
    related: tuple[str, ...] = ()  # more select_related for the render
    # Adjusts the formatted context (e.g. a retention's own totals rows).
    context: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None


PDF_DOCUMENTS: dict[type[FiscalDocument], PdfDocumentKind] = {}


def pdf_register(kind: PdfDocumentKind) -> None:
    PDF_DOCUMENTS[kind.model] = kind


pdf_register(PdfDocumentKind(Invoice))
pdf_register(PdfDocumentKind(CreditNote, related=("invoice__document",)))
pdf_register(PdfDocumentKind(DebitNote, related=("invoice__document",)))
_SIGNING_SALT = "invoices.document-file"
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
        "draft": "Borrador",
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
        "draft": "Draft",
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


# --- Rendering -----------------------------------------------------------------------


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


def document_context(document: FiscalDocument) -> dict[str, Any]:
    """Everything the template shows, already formatted."""
    workspace = document.workspace
    kind = PDF_DOCUMENTS[type(document)]
    # The other party: the customer of a sale, the supplier of a purchase.
    customer = getattr(document, kind.counterpart)
    currency = document.currency_id
    text = dict(labels_for(workspace.country_id))
    text["customer"] = text[kind.counterpart_label]
    change = document.custom_change

    def money(value: Decimal) -> str:
        return format_money(value, currency)

    lines = [
        {
            "name": line.name,
            "code": line.code,
            "description": line.description,
            "exempt": line.exempt,
            "quantity": " ".join(
                filter(None, [format_decimal(line.quantity, currency), line.unit_label])
            ),
            "unit_price": format_money(line.amount * change, currency, exact=True),
            "discount": _line_discount(line, currency, change),
            "total": money(line.total),
        }
        for line in cast(Any, document).lines.all()
    ]
    totals: list[tuple[str, str, bool]] = []  # (label, amount, emphasized)
    if document.discount_amount:
        percent = (
            f" ({format_decimal(document.discount, currency)}%)"
            if document.discount_scheme == "%"
            else ""
        )
        totals.append(
            (f"{text['document_discount']}{percent}", money(-document.discount_amount), False)
        )
    if document.document.has_taxes:
        totals.append((text["amount"], money(document.amount), False))
    if document.exempt or not document.document.has_taxes:
        totals.append((text["exempt"], money(document.exempt), False))
    if document.document.has_taxes:
        percent = format_decimal(document.tax_percent, currency)
        totals.append((f"{text['tax']} {percent}%", money(document.tax), False))
    totals.append((text["total"], money(document.total), not document.retention))
    if document.retention:
        totals.append((text["retention"], money(-document.retention), False))
        totals.append((text["total_adjusted"], money(document.total_adjusted), True))

    period = ""
    if isinstance(document, Invoice) and document.period_start and document.period_end:
        period = " – ".join(
            _format_date(day, text["date_format"])
            for day in (document.period_start, document.period_end)
        )
    customer_place = ", ".join(
        filter(None, [customer.state.name if customer.state else "", customer.country.name])
    )
    context = {
        "text": text,
        "draft": document.finalized_at is None,
        "document_name": document.document.name,
        "document_code": document.document.code,
        "number": document.number,
        "issuer": {
            "name": workspace.name,
            "tax_id_name": workspace.country.tax_id_name,
            "tax_id": workspace.tax_id,
            "activity": workspace.tax_settings.get("cl_activity_description", ""),
            "address": workspace.address,
            "email": workspace.email,
        },
        "customer": {
            "name": customer.name,
            "tax_id_name": customer.country.tax_id_name,
            "tax_id": customer.tax_id,
            "activity": customer.tax_settings.get("cl_activity_description", ""),
            "address": customer.address,
            "place": customer_place,
            "email": customer.email,
        },
        "date": _format_date(document.date, text["date_format"]),
        "due_date": _format_date(getattr(document, "due_date", None), text["date_format"]),
        "period": period,
        "currency": currency,
        "custom_change": format_decimal(change, currency) if change != 1 else "",
        "lines": lines,
        "totals": totals,
        "references": _references(document, text),
        "tracking_id": document.tax_agency_tracking_id,
        "note": document.note,
    }
    return kind.context(document, context) if kind.context else context


def document_html(document: FiscalDocument) -> str:
    template = PDF_DOCUMENTS[type(document)].template
    return render_to_string(template, document_context(document))


def html_to_pdf(html: str) -> bytes:
    import weasyprint  # loads Pango: only processes that render pay for it

    pdf: bytes = weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    return pdf


def document_pdf_render(document: FiscalDocument) -> bytes:
    return html_to_pdf(document_html(document))


def document_filename(document: FiscalDocument) -> str:
    number = document.number if document.number is not None else "borrador"
    return f"{slugify(document.document.name)}-{number}.pdf"


def _model(model_label: str) -> type[FiscalDocument]:
    model = apps.get_model(model_label)
    if model not in PDF_DOCUMENTS:
        raise LookupError(f"{model_label} is not a fiscal document")
    return model


def _load(model: type[FiscalDocument], document_id: str) -> FiscalDocument:
    kind = PDF_DOCUMENTS[model]
    party = kind.counterpart
    related = ["workspace__country", f"{party}__country", f"{party}__state", "document"]
    return model._default_manager.select_related(*related, *kind.related).get(pk=document_id)


def document_pdf_store(*, model_label: str, document_id: str) -> bool:
    """Render and store a finalized document's PDF unless one is stored. True if stored now.

    No lock is held while rendering: the file is written under a fresh name, and only the
    first render to set the empty field keeps its file; a concurrent loser removes its own.
    """
    model = _model(model_label)
    document = _load(model, document_id)
    if document.pdf or document.finalized_at is None:
        return False
    content = document_pdf_render(document)
    field = document.pdf
    name = field.field.generate_filename(document, f"{document.pk}.pdf")
    name = field.storage.save(name, ContentFile(content), max_length=field.field.max_length)
    stored = model._default_manager.filter(pk=document.pk, pdf="").update(pdf=name)
    if not stored:
        field.storage.delete(name)
        return False
    return True


def document_pdf(*, document: FiscalDocument) -> bytes:
    """The stored PDF of a finalized document (stored now if the task has not run yet),
    or a fresh preview of a draft, never stored."""
    if document.finalized_at is None:
        return document_pdf_render(_load(type(document), document.pk))
    if not document.pdf:
        document_pdf_store(model_label=document._meta.label, document_id=document.pk)
        document.refresh_from_db(fields=["pdf"])
    with document.pdf.open("rb") as stored:
        return stored.read()


def document_pdf_schedule(document: FiscalDocument) -> None:
    """Queue the PDF's render for when the finalizing transaction commits.

    A broker outage is logged (robust), not raised: the finalize has committed, and the
    beat sweep (`documents_pdf_missing`) or the first read of the PDF renders it later.
    """
    label, document_id = document._meta.label, document.pk

    def queue() -> None:
        from invoices.tasks import render_document_pdf

        render_document_pdf.delay(model_label=label, document_id=document_id)

    transaction.on_commit(queue, robust=True)


# Documents per render task when many are finalized at once: a task stays short enough to
# retry cheaply, and a billing cycle of thousands queues a few hundred messages, not thousands.
PDF_RENDER_CHUNK = 50


def documents_pdf_schedule(*, model_label: str, document_ids: Sequence[str]) -> None:
    """Queue the PDFs of many documents finalized together, for when the transaction
    commits; like `document_pdf_schedule`, a broker outage is left to the sweep."""
    chunks = [
        list(document_ids[i : i + PDF_RENDER_CHUNK])
        for i in range(0, len(document_ids), PDF_RENDER_CHUNK)
    ]

    def queue() -> None:
        from invoices.tasks import render_document_pdfs

        for chunk in chunks:
            render_document_pdfs.delay(model_label=model_label, document_ids=chunk)

    if chunks:
        transaction.on_commit(queue, robust=True)


def documents_pdf_missing(
    *, now: datetime, older_than: timedelta, limit: int = 200
) -> list[tuple[str, str]]:
    """(model label, id) of finalized documents whose render was lost (queued long ago).

    `now` is the real time. `finalized_at` is the tenant's time, which a test clock may
    put months ahead of it, so the row's last write (`updated_at`, always real time) finds
    those too.
    """
    missing: list[tuple[str, str]] = []
    cutoff = now - older_than
    for model in PDF_DOCUMENTS:
        ids = (
            model._default_manager.filter(pdf="", finalized_at__isnull=False)
            .filter(Q(finalized_at__lte=cutoff) | Q(updated_at__lte=cutoff))
            .values_list("pk", flat=True)[:limit]
        )
        missing += [(model._meta.label, document_id) for document_id in ids]
    return missing


# --- Signed links --------------------------------------------------------------------


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SIGNING_SALT)


def document_file_token(document: FiscalDocument) -> str:
    return _signer().sign_object([document._meta.label, document.pk])


def document_file_url(document: FiscalDocument, request: Any = None) -> str | None:
    """A link to the stored PDF that works without a token until it expires; None
    while no PDF is stored."""
    if not document.pdf:
        return None
    path = reverse("document-file", kwargs={"token": document_file_token(document)})
    return request.build_absolute_uri(path) if request is not None else path


def document_from_token(token: str) -> FiscalDocument | None:
    """The document a valid, unexpired link names, if its PDF is stored; else None."""
    try:
        label, document_id = _signer().unsign_object(
            token, max_age=settings.DOCUMENT_LINK_MAX_AGE_SECONDS
        )
        model = _model(label)
    except (signing.BadSignature, LookupError, TypeError, ValueError):
        return None
    document = model._default_manager.select_related("document").filter(pk=document_id).first()
    if document is None or not document.pdf:
        return None
    return document
