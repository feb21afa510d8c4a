"""Invoices copied to Stripe when the workspace syncs them, and Stripe's word on their
payment brought back.

A task run after each invoice or credit-note event commits (the outbox's consumer)
brings the Stripe copy in line with ours: created with its items and finalized once
ours is finalized, credited when ours is, voided when ours is cancelled, and marked
paid out of band when ours is paid another way. One run at a time per invoice (a
PostgreSQL advisory lock, so a dead worker holds nothing), the Stripe id is stored once
(a conditional update under a unique constraint), and every Stripe write carries an
idempotency key made of our ids, while what it makes carries our ids in its metadata: a
run repeated or retried finds what an earlier run made (by its key, or by its metadata
once Stripe has forgotten the key) and carries on from there.

Stripe's `invoice.paid` records a payment on ours through the usual settle path, once
per Stripe invoice; what ours no longer owes of it is refunded (stripe_unowed.py).
`invoice.payment_failed` records a failed payment, as a declined charge is, and leaves
the invoice due. A late event never moves ours back.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import stripe
from django.db import connection as db_connection
from django.db import transaction

from billing.errors import DomainError
from billing.models import Event
from billing.money import round_amount
from customers.choices import StripeSyncStatus
from customers.models import Customer
from customers.services import customer_record_stripe_sync
from invoices.choices import PAYABLE_STATUSES, InvoiceStatus, NoteStatus, StripeInvoiceSync
from invoices.models import CreditNote, Invoice, InvoiceLine
from invoices.services.stripe_copy import (
    credit_note_record_stripe_id,
    invoice_claim_stripe_id,
    invoice_record_stripe_sync,
)
from payments.choices import GatewayKind, PaymentStatus
from payments.gateways import stripe_invoicing as stripe_api
from payments.gateways.base import ChargeOutcome, ChargeResult
from payments.gateways.registry import stripe_connection
from payments.gateways.stripe_gateway import (
    StripeGateway,
    StripeRefused,
    StripeUnavailable,
    from_minor_units,
)
from payments.gateways.stripe_invoicing import StripeInvoice, StripeItem
from payments.invoice_reads import invoice_amount_payable
from payments.models import Payment, StripeEvent
from payments.services._common import lock_invoices
from payments.services.gateways import payment_gateway_record_failure
from payments.services.payments import (
    AllocationRequest,
    apply_gateway_result,
    create_payment,
    resolve_allocations,
)
from payments.services.stripe_customers import _creation_key, _stripe_fields
from payments.services.stripe_unowed import UNOWED_KEY, stripe_payment_record_unowed

INVOICE_EVENTS = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.cancelled",
    "credit_note.finalized",
)

# Stripe invoice statuses a void or a payment may still change.
_OPEN = ("open", "uncollectible")


def invoice_id_of_event(event: Event) -> str:
    if event.type.startswith("credit_note."):
        note = CreditNote.objects.filter(pk=event.object_id).values_list("invoice_id", flat=True)
        return str(note.first() or "")
    return event.object_id


@contextmanager
def _one_sync_at_a_time(invoice_id: str) -> Iterator[bool]:
    """Whether this run holds the invoice's sync; a session lock, released on exit or
    when the connection closes, so a worker that dies mid-run blocks no one."""
    if db_connection.vendor != "postgresql":
        # Session locks are PostgreSQL's. On SQLite (`make run`) a run's writes wait for
        # the database's one writer; two runs of one invoice at once are not kept apart.
        yield True
        return
    key = f"payments.stripe_invoice:{invoice_id}"
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])


def invoice_sync_to_stripe(*, invoice_id: str, now: datetime) -> str:
    """Bring the invoice's Stripe copy in line with ours when the workspace syncs
    invoices. Answers synced, skipped, busy (another run holds it) or failed (the
    error is on the invoice); busy and failed are worth retrying."""
    invoice = Invoice.objects.filter(pk=invoice_id).only("workspace_id", "test_mode").first()
    if invoice is None:
        return "skipped"
    connection = stripe_connection(invoice.workspace_id, invoice.test_mode)
    if connection is None or not connection.sync_invoices:
        return "skipped"
    with _one_sync_at_a_time(invoice_id) as held:
        if not held:
            return "busy"
        # Read once the lock is held: what an earlier run stored is seen.
        invoice = Invoice.objects.select_related("customer", "document", "workspace").get(
            pk=invoice_id
        )
        gateway = StripeGateway(connection.secret_key)
        try:
            return _match(invoice, gateway, now)
        except (StripeUnavailable, StripeRefused, stripe.StripeError) as error:
            message = getattr(error, "message", None) or getattr(error, "user_message", None)
            text = str(message or type(error).__name__)
            if isinstance(error, StripeUnavailable) and error.authentication:
                payment_gateway_record_failure(connection_id=connection.id, error=text)
            invoice_record_stripe_sync(
                invoice_id=invoice.id, status=StripeInvoiceSync.FAILED, error=text, now=now
            )
            return "failed"


def _match(invoice: Invoice, gateway: StripeGateway, now: datetime) -> str:
    if invoice.status == InvoiceStatus.DRAFT:
        return "skipped"
    if not invoice.stripe_id and invoice.status == InvoiceStatus.CANCELLED:
        return "skipped"  # cancelled before it reached Stripe: nothing there to void
    copy = _copy(invoice, gateway, now)
    if invoice.status != InvoiceStatus.CANCELLED and copy.status in ("open", "paid"):
        copy = _credit(invoice, copy, gateway)
    if invoice.status == InvoiceStatus.CANCELLED and copy.status in _OPEN:
        copy = stripe_api.invoice_void(gateway, copy.id, invoice.id)
    elif invoice.status == InvoiceStatus.PAID and copy.status in _OPEN:
        copy = stripe_api.invoice_pay_out_of_band(gateway, copy.id, invoice.id)
    invoice_record_stripe_sync(
        invoice_id=invoice.id,
        status=StripeInvoiceSync.SYNCED,
        stripe_status=copy.status,
        hosted_invoice_url=copy.hosted_invoice_url,
        invoice_pdf=copy.invoice_pdf,
        now=now,
    )
    return "synced"


def _copy(invoice: Invoice, gateway: StripeGateway, now: datetime) -> StripeInvoice:
    """The Stripe copy, made and finalized if it is not yet."""
    customer = _stripe_customer(invoice.customer, gateway, now)
    if invoice.stripe_id:
        copy = stripe_api.invoice_retrieve(gateway, invoice.stripe_id)
    else:
        found = stripe_api.invoice_find(gateway, stripe_customer=customer, reference=invoice.id)
        copy = found or stripe_api.invoice_create(
            gateway,
            stripe_customer=customer,
            currency=invoice.currency_id,
            days_until_due=_days_until_due(invoice),
            description=f"{invoice.document.name} {invoice.number}",
            metadata={
                "billing_id": invoice.id,
                "number": str(invoice.number),
                "document": invoice.document.code,
            },
            reference=invoice.id,
        )
        kept = invoice_claim_stripe_id(invoice_id=invoice.id, stripe_id=copy.id)
        if kept != copy.id:
            copy = stripe_api.invoice_retrieve(gateway, kept)
        invoice.stripe_id = kept
    if copy.status != "draft":
        return copy
    present = stripe_api.invoice_item_keys(gateway, copy.id)
    for item in invoice_stripe_items(invoice):
        if item.key not in present:
            stripe_api.invoice_item_add(
                gateway,
                stripe_id=copy.id,
                stripe_customer=customer,
                currency=invoice.currency_id,
                item=item,
                reference=invoice.id,
            )
    return stripe_api.invoice_finalize(gateway, copy.id, invoice.id)


def _stripe_customer(customer: Customer, gateway: StripeGateway, now: datetime) -> str:
    """The customer's Stripe id, made now if it has none: a Stripe invoice needs its
    customer even where syncing customers is off."""
    if customer.stripe_id:
        return customer.stripe_id
    stripe_id = gateway.customer_upsert(
        stripe_id="", fields=_stripe_fields(customer), idempotency_key=_creation_key(customer)
    )
    customer_record_stripe_sync(
        customer_id=customer.id, status=StripeSyncStatus.SYNCED, stripe_id=stripe_id, now=now
    )
    return stripe_id


def _days_until_due(invoice: Invoice) -> int:
    """Counted from the invoice's date, not today: a retried create sends the same
    parameters, as its idempotency key requires."""
    if invoice.due_date is None:
        return 0
    return max((invoice.due_date - invoice.date).days, 0)


def _line_text(line: InvoiceLine) -> str:
    if line.quantity == 1:
        return line.name[:500]
    return f"{line.name} × {line.quantity.normalize():f}"[:500]


def invoice_stripe_items(invoice: Invoice) -> list[StripeItem]:
    """The Stripe items of an invoice: one per line at its total, the tax as one item,
    the retention withheld, and whatever the document's discount took off, so that the
    Stripe invoice totals exactly what ours asks the customer to pay."""
    items = [
        StripeItem(key=line.id, description=_line_text(line), amount=line.total)
        for line in invoice.lines.order_by("position", "id")
    ]
    if invoice.tax and not invoice.prices_include_tax:
        percent = f" {invoice.tax_percent.normalize():f}%" if invoice.tax_percent else ""
        items.append(StripeItem(key="tax", description=f"Tax{percent}", amount=invoice.tax))
    if invoice.retention:
        items.append(
            StripeItem(key="retention", description="Retention", amount=-invoice.retention)
        )
    rest = invoice.total_adjusted - sum((item.amount for item in items), Decimal(0))
    if rest:
        items.append(StripeItem(key="discount", description="Discount", amount=rest))
    return items


def _credit(invoice: Invoice, copy: StripeInvoice, gateway: StripeGateway) -> StripeInvoice:
    """Each finalized credit note of ours not yet in Stripe becomes a Stripe credit note."""
    notes = CreditNote.objects.filter(
        invoice=invoice, status=NoteStatus.FINALIZED, stripe_id=""
    ).order_by("finalized_at", "id")
    for note in notes:
        stripe_id = stripe_api.credit_note_find(gateway, stripe_id=copy.id, reference=note.id)
        if not stripe_id:
            stripe_id = stripe_api.credit_note_create(
                gateway,
                stripe_id=copy.id,
                amount=note.total_adjusted,
                currency=invoice.currency_id,
                invoice_paid=copy.status == "paid",
                memo=f"Credit note {note.number}",
                reference=note.id,
            )
        credit_note_record_stripe_id(note_id=note.id, stripe_id=stripe_id)
        copy = stripe_api.invoice_retrieve(gateway, copy.id)
    return copy


# Stripe's events on the invoices it holds: (event, now) → (applied, what happened).

Outcome = tuple[bool, str]


def _synced_invoice(event: StripeEvent, obj: dict[str, Any]) -> Invoice | None:
    return Invoice.objects.filter(
        workspace_id=event.workspace_id, test_mode=event.test_mode, stripe_id=str(obj["id"])
    ).first()


def _locked(invoice: Invoice, stripe_status: str) -> Invoice:
    locked = lock_invoices([invoice])[0]
    Invoice.objects.filter(pk=locked.pk).update(stripe_status=stripe_status)
    return locked


@transaction.atomic
def stripe_invoice_paid(event: StripeEvent, now: datetime) -> Outcome:
    """Paid in Stripe (its hosted page): a succeeded payment of what Stripe took, applied
    to ours, which the settle path then marks paid. Once per Stripe invoice."""
    obj = dict(event.payload["data"]["object"])
    invoice = _synced_invoice(event, obj)
    if invoice is None:
        return False, "no invoice of ours is copied as this Stripe invoice"
    invoice = _locked(invoice, "paid")
    in_stripe = stripe_api.invoice_amount_paid_in_stripe(obj)
    if in_stripe <= 0:
        return False, f"invoice {invoice.id} was paid outside Stripe (marked so by us)"
    if Payment.objects.filter(
        workspace_id=event.workspace_id,
        test_mode=event.test_mode,
        status=PaymentStatus.SUCCEEDED,
        metadata__stripe_invoice=obj["id"],
    ).exists():
        return False, f"the payment in Stripe of {invoice.id} is recorded already"
    taken = from_minor_units(in_stripe, invoice.currency_id)
    reference = stripe_api.invoice_payment_reference(obj) or str(obj["id"])
    payable = Decimal(0)
    if invoice.status in PAYABLE_STATUSES:
        payable = round_amount(invoice_amount_payable(invoice), invoice.currency_id)
    if taken > payable:
        # Ours was paid (or cancelled, or credited) meanwhile: what Stripe took beyond
        # what it still owes is refunded, never dropped.
        payment = stripe_payment_record_unowed(
            workspace_id=event.workspace_id,
            test_mode=event.test_mode,
            customer=invoice.customer,
            currency=invoice.currency_id,
            amount=taken,
            reference=reference,
            invoice=invoice,
            description=f"Stripe invoice {obj.get('number') or obj['id']}",
            now=now,
            metadata={"stripe_invoice": str(obj["id"])},
        )
        unowed = payment.metadata[UNOWED_KEY]
        return True, f"payment {payment.id} of {taken} on {invoice.id}; {unowed} not owed to refund"
    payment = _payment(invoice, obj, taken, now)
    apply_gateway_result(payment, ChargeResult(ChargeOutcome.SUCCEEDED, reference), now)
    return True, f"payment {payment.id} of {taken} recorded on {invoice.id}"


@transaction.atomic
def stripe_invoice_payment_failed(
    event: StripeEvent, now: datetime, reason: str | Exception
) -> Outcome:
    """A payment attempt in Stripe failed: a failed payment on ours, as a declined charge
    is (payment.failed, its reason); the invoice stays due. Once per attempt. `reason`
    is what `stripe_invoice_failure_reason` read before the transaction."""
    obj = dict(event.payload["data"]["object"])
    invoice = _synced_invoice(event, obj)
    if invoice is None:
        return False, "no invoice of ours is copied as this Stripe invoice"
    invoice = lock_invoices([invoice])[0]
    attempt = int(obj.get("attempt_count") or 0)
    if invoice.status not in PAYABLE_STATUSES:
        return False, f"invoice {invoice.id} is already {invoice.status}"
    if Payment.objects.filter(
        allocations__invoice=invoice,
        metadata__stripe_invoice=obj["id"],
        metadata__stripe_attempt=attempt,
    ).exists():
        return False, f"attempt {attempt} of {invoice.id} in Stripe is recorded already"
    payable = round_amount(invoice_amount_payable(invoice), invoice.currency_id)
    if payable <= 0:
        return False, f"invoice {invoice.id} has nothing due"
    payment = _payment(invoice, obj, payable, now, attempt=attempt)
    if isinstance(reason, Exception):
        raise reason
    reference = stripe_api.invoice_payment_reference(obj) or str(obj["id"])
    apply_gateway_result(payment, ChargeResult(ChargeOutcome.FAILED, reference, reason), now)
    return True, f"payment {payment.id} failed ({reason}) on {invoice.id}"


def _payment(
    invoice: Invoice, obj: dict[str, Any], amount: Decimal, now: datetime, attempt: int = 0
) -> Payment:
    shares = resolve_allocations(
        [AllocationRequest(invoice, amount)], invoice.currency_id, invoice.customer
    ).shares
    metadata: dict[str, Any] = {"stripe_invoice": str(obj["id"])}
    if attempt:
        metadata["stripe_attempt"] = attempt
    payment = create_payment(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        customer=invoice.customer,
        currency=invoice.currency_id,
        amount=amount,
        shares=shares,
        source=None,
        now=now,
        subscription_id=invoice.subscription_id,
        description=f"Stripe invoice {obj.get('number') or obj['id']}"[:256],
        metadata=metadata,
    )
    payment.gateway = GatewayKind.STRIPE
    return payment


def stripe_invoice_failure_reason(event: StripeEvent) -> str | Exception:
    """Why a failed attempt failed, as its Stripe payment intent says (a decline code).
    Read before the event's transaction, so no locked invoice waits on Stripe (up to its
    timeout, retried). A read that fails is answered as the error, which the handler
    raises only if it records the attempt: a late failure on a paid invoice needs no
    reason and is ignored whether Stripe answers or not."""
    try:
        return _failure_reason(event)
    except (StripeUnavailable, StripeRefused, stripe.StripeError) as error:
        return DomainError("stripe_unavailable", str(error))
    except Exception as error:  # raised where the reason is needed, as when read there
        return error


def _failure_reason(event: StripeEvent) -> str:
    reference = stripe_api.invoice_payment_reference(dict(event.payload["data"]["object"]))
    connection = stripe_connection(event.workspace_id, event.test_mode)
    if not reference or connection is None:
        return "payment_failed"
    gateway = StripeGateway(connection.secret_key)
    if reference.startswith("ch_"):
        charge = gateway.call(gateway.client.v1.charges.retrieve, reference).to_dict()
        outcome = charge.get("outcome") or {}
        return str(outcome.get("reason") or charge.get("failure_code") or "payment_failed")
    intent = gateway.call(gateway.client.v1.payment_intents.retrieve, reference)
    last = intent.to_dict().get("last_payment_error") or {}
    return str(last.get("decline_code") or last.get("code") or "payment_failed")
