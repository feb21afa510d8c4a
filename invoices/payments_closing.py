"""What was open to pay an invoice ends when the invoice stops taking payments.

An invoice stops taking payments by its cancellation (`cancel`, or a reason-1 credit
note) and when it is paid (by a payment, or a credit note covering what it owed):
`invoices.services.notes` and `invoice_settle` call `invoice_payments_close` there, in
that transaction, with the invoice's row locked. Its open intents and its payments
waiting for a payment method are payments' rows, and payments sits a floor above
invoices, so invoices never imports it: the payments app registers what closes them
once the apps are ready (`payments/apps.py`).
"""

from collections.abc import Callable
from datetime import datetime

from invoices.models import Invoice

InvoicePaymentsClose = Callable[[Invoice, datetime], None]

_CLOSE: dict[str, InvoicePaymentsClose] = {}


def invoice_payments_close_register(close: InvoicePaymentsClose) -> None:
    _CLOSE["payments"] = close


def invoice_payments_close(invoice: Invoice, now: datetime) -> None:
    try:
        close = _CLOSE["payments"]
    except KeyError:
        raise RuntimeError("The payments app has not registered what closes payments.") from None
    close(invoice, now)
