"""Procurement documents join the invoices' tax-agency loop and PDF renderer.

Both are registries in invoices (the shared document machinery), so invoices never
imports this app; registered once the apps are ready (apps.py).
"""

from typing import Any

from billing.money import round_amount
from billing.tax_agency import TaxDocument
from invoices.pdf.context import PdfDocumentKind, format_decimal, format_money, pdf_register
from invoices.services.filing import FiledDocumentKind, tax_agency_register
from procurement.models import Purchase, PurchaseCreditNote, Retention
from procurement.representations import (
    purchase_credit_note_snapshot,
    purchase_snapshot,
    retention_snapshot,
)


def retention_tax_document(retention: Retention, filed: TaxDocument) -> TaxDocument:
    """A boleta de honorarios declares the tax it withholds and at which rate."""
    filed["totals"]["retention"] = str(round_amount(retention.retention, retention.currency_id))
    filed["totals"]["retention_percent"] = format(retention.retention_percent.normalize(), "f")
    return filed


def retention_pdf_context(retention: Retention, context: dict[str, Any]) -> dict[str, Any]:
    """Gross, withheld, net: how a boleta de honorarios shows its amounts."""
    currency = retention.currency_id
    percent = format_decimal(retention.retention_percent, currency)
    spanish = context["text"]["lang"] == "es"
    gross, withheld, net = (
        ("Total honorarios", "Impuesto retenido", "Total líquido")
        if spanish
        else ("Gross amount", "Tax withheld", "Net amount")
    )
    # Honorarios bear no IVA by their nature; an "exento" tag would say they could have.
    for line in context["lines"]:
        line["exempt"] = False
    context["totals"] = [
        (gross, format_money(retention.subtotal, currency), False),
        (f"{withheld} {percent}%", format_money(-retention.retention, currency), False),
        (net, format_money(retention.total_adjusted, currency), True),
    ]
    return context


def register() -> None:
    tax_agency_register("pur", FiledDocumentKind(Purchase, "purchase", purchase_snapshot))
    tax_agency_register(
        "pcn",
        FiledDocumentKind(
            PurchaseCreditNote, "purchase_credit_note", purchase_credit_note_snapshot
        ),
    )
    tax_agency_register(
        "ret",
        FiledDocumentKind(Retention, "retention", retention_snapshot, retention_tax_document),
    )
    pdf_register(PdfDocumentKind(Purchase, "supplier"))
    pdf_register(PdfDocumentKind(PurchaseCreditNote, "supplier"))
    pdf_register(PdfDocumentKind(Retention, "supplier", context=retention_pdf_context))
