"""Payment links: a hosted checkout page for an amount or an invoice."""

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Currency, Workspace
from billing.money import round_amount
from customers.models import Customer
from invoices.choices import InvoiceStatus
from invoices.models import Invoice
from invoices.selectors import invoice_amount_due
from payments.invoice_reads import invoice_amount_payable
from payments.models import PaymentLink
from payments.services._common import check_expires_after, check_invoice_payable


class LinkUnavailable(DomainError):
    pass


def _new_publishable_key() -> str:
    return f"pk_link_{secrets.token_urlsafe(24)}"


def payment_link_state(link: PaymentLink, now: datetime) -> str:
    """open, paid, expired or cancelled: what the hosted page shows."""
    if link.paid_at is not None:
        return "paid"
    if link.invoice is not None and link.invoice.status == InvoiceStatus.PAID:
        return "paid"
    if link.invoice is not None and link.invoice.status == InvoiceStatus.CANCELLED:
        return "cancelled"
    if link.expires_at is not None and link.expires_at <= now:
        return "expired"
    return "open"


def payment_link_amount(link: PaymentLink) -> Decimal:
    """What the link charges now: its amount, and for an invoice's link at most what the
    invoice still owes, read live (credit notes and other payments lower it). The hosted
    page, the public JSON and the checkout all use this, so the payer sees what is
    charged."""
    if link.invoice is None:
        return link.amount
    payable = round_amount(invoice_amount_payable(link.invoice), link.currency_id)
    return max(min(link.amount, payable), Decimal(0))


def check_link_open(link: PaymentLink, now: datetime) -> None:
    state = payment_link_state(link, now)
    if state != "open":
        raise LinkUnavailable(f"payment_link_{state}", f"This payment link is {state}.")


class PaymentLinkFields(TypedDict, total=False):
    """What a new link may also say (PaymentLinkSerializer's writable fields that the
    service does not take apart)."""

    description: str
    expires_at: datetime | None
    reusable: bool
    return_url: str
    save_card_and_make_default: bool
    metadata: dict[str, Any]


@transaction.atomic
def payment_link_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    amount: Decimal | None = None,
    currency: Currency | None = None,
    invoice: Invoice | None = None,
    customer: Customer | None = None,
    now: datetime,
    **fields: Unpack[PaymentLinkFields],
) -> PaymentLink:
    """A link for an invoice takes its amount due, currency and customer by default, and
    never asks more than the invoice owes: overpayment is refused (rules.md §7)."""
    owed: Decimal | None = None
    if invoice is not None:
        check_invoice_payable(invoice, f"Invoice {invoice.id} is {invoice.status}.")
        currency = currency or invoice.currency
        customer = customer or invoice.customer
        owed = round_amount(invoice_amount_due(invoice), invoice.currency_id)
        if amount is None:
            amount = owed
        if currency.code != invoice.currency_id:
            raise InvalidInput({"currency": [f"The invoice is in {invoice.currency_id}."]})
        if customer.pk != invoice.customer_id:
            raise InvalidInput({"customer": ["The invoice belongs to another customer."]})
    if currency is None:
        currency = customer.currency if customer else None
    if currency is None:
        raise InvalidInput({"currency": ["Name the currency, an invoice or a customer."]})
    if amount is None:
        raise InvalidInput({"amount": ["This field is required."]})
    if fields.get("save_card_and_make_default") and customer is None:
        raise InvalidInput(
            {"save_card_and_make_default": ["Saving the card needs the link's customer."]}
        )
    amount = round_amount(amount, currency.code)
    if amount <= 0:
        raise InvalidInput({"amount": ["The amount must be positive."]})
    if owed is not None and amount > owed:
        message = f"The invoice owes {owed} {currency.code}; a link cannot ask for more."
        raise InvalidInput({"amount": [message]})
    check_expires_after(now, fields.get("expires_at"), "link")
    return PaymentLink.objects.create(
        workspace=workspace,
        test_mode=test_mode,
        amount=amount,
        currency=currency,
        invoice=invoice,
        customer=customer,
        publishable_key=_new_publishable_key(),
        **fields,
    )
