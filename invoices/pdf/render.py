"""A document's HTML and PDF, rendered from its context with WeasyPrint."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.text import slugify

from billing.models import FiscalDocument
from invoices.models import Invoice, Order
from invoices.pdf.context import PDF_DOCUMENTS, document_context, labels_for, order_context


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


def order_pdf_render(order: Order) -> bytes:
    """An order in its invoice's layout, rendered on each request and never stored: it is
    no fiscal document, and a confirmed order no longer changes, so each render is alike."""
    template = PDF_DOCUMENTS[Invoice].template
    return html_to_pdf(render_to_string(template, order_context(order)))


def order_filename(order: Order) -> str:
    name = labels_for(order.workspace.country_id)["order"]
    return f"{slugify(name)}-{order.id}.pdf"
