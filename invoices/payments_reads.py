"""What invoices reads of the payments applied to its invoices and orders.

Payments sits a floor above invoices, so invoices never imports it: the payments app
registers these reads once the apps are ready (`payments/apps.py`). An invoice's amount
due needs what its payments settled; its representation lists them; some invoice and
order verbs refuse while a payment or an intent is in flight.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import Expression

from invoices.models import Invoice, Order


@dataclass(frozen=True)
class InvoicePaymentReads:
    # Σ what succeeded payments applied to the invoice row (OuterRef("pk")), net of refunds.
    settled: Callable[[], Expression]
    # The same over the customer row's (OuterRef("pk")) invoices in its currency whose
    # status is one of the given ones.
    settled_of_customer: Callable[[Sequence[str]], Expression]
    # The invoice row's payments as a JSON array (see invoices.selectors.json_rows).
    listed: Callable[[], Expression]
    # Whether a payment applied to the invoice is still processing.
    processing: Callable[[Invoice], bool]
    # Whether the invoice holds money of a payment: processing, or succeeded and not
    # wholly refunded on it.
    holding: Callable[[Invoice], bool]
    # Whether an intent to pay the order is still open.
    order_has_open_intent: Callable[[Order], bool]


_READS: dict[str, InvoicePaymentReads] = {}


def invoice_payment_reads_register(reads: InvoicePaymentReads) -> None:
    _READS["payments"] = reads


def invoice_payment_reads() -> InvoicePaymentReads:
    try:
        return _READS["payments"]
    except KeyError:
        raise RuntimeError("The payments app has not registered its invoice reads.") from None
