"""Stripe's invoice calls: an invoice of ours copied as a Stripe invoice with its items,
finalized, voided, paid out of band, and credited with credit notes.

Every create sends an idempotency key made of our ids, and the items and credit notes
carry our ids in their metadata, so a step that is run again finds what an earlier run
made instead of making it twice (after Stripe forgets an idempotency key too).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from payments.gateways.stripe_gateway import StripeGateway, to_minor_units


@dataclass(frozen=True)
class StripeItem:
    """One Stripe invoice item: `key` names it among the invoice's (a line id, or
    `tax`, `retention`, `discount`)."""

    key: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class StripeInvoice:
    id: str
    status: str
    hosted_invoice_url: str
    invoice_pdf: str


def _invoice(obj: Any) -> StripeInvoice:
    fields = obj.to_dict()
    return StripeInvoice(
        id=str(fields["id"]),
        status=str(fields["status"]),
        hosted_invoice_url=str(fields.get("hosted_invoice_url") or ""),
        invoice_pdf=str(fields.get("invoice_pdf") or ""),
    )


def _id_of(value: Any) -> str:
    """An id Stripe shows as a string, or as the object when the field was expanded."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def invoice_payment_reference(invoice: dict[str, Any]) -> str:
    """The PaymentIntent (else the charge) of a Stripe invoice's latest payment, in
    either shape Stripe sends: from API version 2025-03-31 in `payments.data[].payment`
    (`payment_intent`, or `charge` for a payment of type charge); before it, the
    invoice's own `payment_intent` and `charge`. "" when the invoice shows neither."""
    payments = (invoice.get("payments") or {}).get("data") or []
    if payments:
        payment = payments[-1].get("payment") or {}
        return _id_of(payment.get("payment_intent")) or _id_of(payment.get("charge"))
    return _id_of(invoice.get("payment_intent")) or _id_of(invoice.get("charge"))


def invoice_amount_paid_in_stripe(invoice: dict[str, Any]) -> int:
    """What Stripe itself took for the invoice, in minor units: not what it was told was
    paid out of band (`amount_paid_off_stripe` from 2025-03-31, `paid_out_of_band`
    before)."""
    if invoice.get("paid_out_of_band") is True:
        return 0
    return int(invoice.get("amount_paid") or 0) - int(invoice.get("amount_paid_off_stripe") or 0)


def invoice_create(
    gateway: StripeGateway,
    *,
    stripe_customer: str,
    currency: str,
    days_until_due: int,
    description: str,
    metadata: dict[str, str],
    reference: str,
) -> StripeInvoice:
    """A draft Stripe invoice with no items yet. It is sent to be paid on its hosted page
    (`send_invoice`), never charged by Stripe on its own: charging is ours to do."""
    created = gateway.call(
        gateway.client.v1.invoices.create,
        params={
            "customer": stripe_customer,
            "currency": currency.lower(),
            "collection_method": "send_invoice",
            "days_until_due": days_until_due,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "description": description,
            "metadata": metadata,
        },
        options={"idempotency_key": f"invoice-{reference}"},
    )
    return _invoice(created)


def invoice_find(
    gateway: StripeGateway, *, stripe_customer: str, reference: str
) -> StripeInvoice | None:
    """The Stripe invoice an earlier run made for ours (`reference` in its metadata), once
    Stripe has forgotten the idempotency key that would have given it back."""
    invoices = gateway.call(
        gateway.client.v1.invoices.list, params={"customer": stripe_customer, "limit": 100}
    )
    for invoice in invoices.auto_paging_iter():
        if (invoice.to_dict().get("metadata") or {}).get("billing_id") == reference:
            return _invoice(invoice)
    return None


def invoice_retrieve(gateway: StripeGateway, stripe_id: str) -> StripeInvoice:
    return _invoice(gateway.call(gateway.client.v1.invoices.retrieve, stripe_id))


def invoice_item_keys(gateway: StripeGateway, stripe_id: str) -> set[str]:
    """The keys of the items the Stripe invoice holds already."""
    items = gateway.call(
        gateway.client.v1.invoice_items.list, params={"invoice": stripe_id, "limit": 100}
    )
    return {
        str((item.to_dict().get("metadata") or {}).get("billing_item", ""))
        for item in items.auto_paging_iter()
    }


def invoice_item_add(
    gateway: StripeGateway,
    *,
    stripe_id: str,
    stripe_customer: str,
    currency: str,
    item: StripeItem,
    reference: str,
) -> None:
    gateway.call(
        gateway.client.v1.invoice_items.create,
        params={
            "customer": stripe_customer,
            "invoice": stripe_id,
            "currency": currency.lower(),
            "amount": to_minor_units(item.amount, currency),
            "description": item.description,
            "metadata": {"billing_invoice": reference, "billing_item": item.key},
        },
        options={"idempotency_key": f"invoice-item-{reference}-{item.key}"},
    )


def invoice_finalize(gateway: StripeGateway, stripe_id: str, reference: str) -> StripeInvoice:
    finalized = gateway.call(
        gateway.client.v1.invoices.finalize_invoice,
        stripe_id,
        params={"auto_advance": False},
        options={"idempotency_key": f"invoice-finalize-{reference}"},
    )
    return _invoice(finalized)


def invoice_void(gateway: StripeGateway, stripe_id: str, reference: str) -> StripeInvoice:
    voided = gateway.call(
        gateway.client.v1.invoices.void_invoice,
        stripe_id,
        options={"idempotency_key": f"invoice-void-{reference}"},
    )
    return _invoice(voided)


def invoice_pay_out_of_band(
    gateway: StripeGateway, stripe_id: str, reference: str
) -> StripeInvoice:
    """Ours was paid another way (a charge of ours, a transfer): Stripe's copy is marked
    paid so the customer is not asked to pay it again on its hosted page."""
    paid = gateway.call(
        gateway.client.v1.invoices.pay,
        stripe_id,
        params={"paid_out_of_band": True},
        options={"idempotency_key": f"invoice-pay-{reference}"},
    )
    return _invoice(paid)


def credit_note_find(gateway: StripeGateway, *, stripe_id: str, reference: str) -> str:
    """The Stripe credit note an earlier run made for our note `reference`, if any."""
    notes = gateway.call(
        gateway.client.v1.credit_notes.list, params={"invoice": stripe_id, "limit": 100}
    )
    for note in notes.auto_paging_iter():
        if (note.to_dict().get("metadata") or {}).get("billing_id") == reference:
            return str(note.id)
    return ""


def credit_note_create(
    gateway: StripeGateway,
    *,
    stripe_id: str,
    amount: Decimal,
    currency: str,
    invoice_paid: bool,
    memo: str,
    reference: str,
) -> str:
    """A credit note on the Stripe invoice. On a paid one Stripe must be told where the
    credit goes: out of band, since ours keeps the customer's credit (its balance)."""
    minor = to_minor_units(amount, currency)
    params: dict[str, Any] = {
        "invoice": stripe_id,
        "amount": minor,
        "memo": memo,
        "metadata": {"billing_id": reference},
    }
    if invoice_paid:
        params["out_of_band_amount"] = minor
    created = gateway.call(
        gateway.client.v1.credit_notes.create,
        params=params,
        options={"idempotency_key": f"credit-note-{reference}"},
    )
    return str(created.id)
