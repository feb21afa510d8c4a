"""Documents sent to customers by email, with the PDF attached."""

import smtplib
from datetime import datetime
from email.utils import format_datetime, formataddr

from django.conf import settings
from django.core.mail import EmailMessage

from billing.errors import DomainError
from billing.models import Workspace
from customers.selectors import customer_invoice_recipients
from invoices.choices import InvoiceStatus
from invoices.models import Invoice
from invoices.pdf.context import format_money, labels_for
from invoices.pdf.render import document_filename
from invoices.pdf.storage import document_pdf
from invoices.services.invoices import invoice_record_sent

SENDABLE_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PAID)

_MESSAGES = {
    "es": {
        "subject": "{document} N° {number} de {issuer}",
        "body": (
            "Estimado(a) {customer}:\n\n"
            "Adjuntamos {document} N° {number}, emitida el {date}, por un total de {total}."
            "{due}\n\nSaludos cordiales,\n{issuer}\n"
        ),
        "due": " Vence el {due_date}.",
    },
    "en": {
        "subject": "{document} No. {number} from {issuer}",
        "body": (
            "Dear {customer},\n\n"
            "Please find attached {document} No. {number}, issued on {date}, for a total of "
            "{total}.{due}\n\nKind regards,\n{issuer}\n"
        ),
        "due": " It is due on {due_date}.",
    },
}


def _message(invoice: Invoice, recipients: list[str], now: datetime) -> EmailMessage:
    workspace = invoice.workspace
    text = labels_for(workspace.country_id)
    templates = _MESSAGES[text["lang"]]
    values = {
        "document": invoice.document.name,
        "number": invoice.number,
        "issuer": workspace.name,
        "customer": invoice.customer.name,
        "date": invoice.date.strftime(text["date_format"]),
        "total": format_money(invoice.total_adjusted, invoice.currency_id),
        "due_date": invoice.due_date.strftime(text["date_format"]) if invoice.due_date else "",
    }
    values["due"] = templates["due"].format(**values) if invoice.due_date else ""
    return workspace_email(
        workspace,
        subject=templates["subject"].format(**values),
        body=templates["body"].format(**values),
        to=recipients,
        now=now,
    )


def workspace_email(
    workspace: Workspace, *, subject: str, body: str, to: list[str], now: datetime
) -> EmailMessage:
    """An email the workspace sends its customers (a document, a reminder): from the
    workspace's name, answered to its own email, dated `now` on its clock."""
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=formataddr((workspace.name, settings.DEFAULT_FROM_EMAIL)),
        to=to,
        reply_to=[workspace.email] if workspace.email else None,
        headers={"Date": format_datetime(now)},
    )


def invoice_send(*, invoice: Invoice, now: datetime) -> Invoice:
    """Email the invoice's PDF to the customer's invoicing contacts (or the customer).

    The invoice is locked only afterwards, to record the sending: no lock is held while
    the mail server is talked to.
    """
    if invoice.status not in SENDABLE_STATUSES:
        raise DomainError(
            "invoice_not_finalized",
            f"Invoice {invoice.id} is {invoice.status}; only finalized or paid invoices are sent.",
        )
    recipients = customer_invoice_recipients(customer=invoice.customer)
    if not recipients:
        raise DomainError(
            "no_recipients",
            f"Customer {invoice.customer_id} has no invoicing contact with an email, and no "
            "email of its own.",
        )
    message = _message(invoice, recipients, now)
    message.attach(document_filename(invoice), document_pdf(document=invoice), "application/pdf")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise DomainError(
            "email_not_sent", f"The mail server refused the message: {exc}", status_code=502
        ) from exc
    return invoice_record_sent(invoice=invoice, now=now)
