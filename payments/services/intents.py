"""Intents: one attempt to collect an invoice's, an order's or a link's amount, carried
from a payment method to a payment applied to an invoice."""

import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from billing.money import round_amount
from customers.models import Customer
from invoices.models import Invoice, Order, OrderStatus
from invoices.services.invoices import invoice_finalize
from invoices.services.orders import order_confirm, order_invoice
from payments.choices import (
    INTENT_OPEN_STATUSES,
    INTENT_TRANSITIONS,
    INTENT_UNPAID_ENDS,
    IntentStatus,
    PaymentStatus,
)
from payments.gateways.base import ChargeOutcome, ChargeResult
from payments.invoice_reads import invoice_amount_payable
from payments.models import Intent, Payment, PaymentAllocation, PaymentLink, Source
from payments.services._common import (
    check_chargeable,
    check_expires_after,
    check_invoice_payable,
    lock_intent,
    lock_invoices,
    refuse_if_invoice_closed,
    took_money,
)
from payments.services._events import record_intent
from payments.services.links import payment_link_amount
from payments.services.payments import (
    AllocationRequest,
    apply_gateway_result,
    charge,
    charge_after_commit,
    create_payment,
    is_reserved,
    payment_cancel,
    payment_complete_authentication,
    resolve_allocations,
    settle_invoice,
)


def transition_intent(intent: Intent, target: IntentStatus, now: datetime) -> None:
    if (intent.status, target) not in INTENT_TRANSITIONS:
        raise DomainError(
            "intent_invalid_transition",
            f"Intent {intent.id} is {intent.status} and cannot become {target}.",
        )
    intent.status = target
    if target in INTENT_UNPAID_ENDS and intent.checkout_session:
        # The payer must not pay on its Checkout page any more (stripe_close).
        intent.gateway_close_due = True
    stamp = {
        IntentStatus.AUTHORIZED: "authorized_at",
        IntentStatus.CAPTURED: "captured_at",
        IntentStatus.FINALIZED: "finalized_at",
    }.get(target)
    if stamp:
        setattr(intent, stamp, now)
    intent.save()
    record_intent(intent, str(target))


def _new_client_secret(intent_id: str) -> str:
    return f"{intent_id}_secret_{secrets.token_urlsafe(24)}"


class IntentFields(TypedDict, total=False):
    """What a new intent may also say (IntentSerializer's writable fields that the
    service does not take apart)."""

    source: Source | None
    return_url: str
    save_card_and_make_default: bool
    expires_at: datetime | None
    metadata: dict[str, Any]


@transaction.atomic
def intent_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    invoice: Invoice | None = None,
    order: Order | None = None,
    payment_link: PaymentLink | None = None,
    amount: Decimal | None = None,
    now: datetime,
    **fields: Unpack[IntentFields],
) -> Intent:
    """An intent to collect what an invoice owes, what an order costs, or a link's amount.
    An order already invoiced is collected through its invoice."""
    if sum(x is not None for x in (invoice, order, payment_link)) != 1:
        raise InvalidInput({"non_field_errors": ["Name exactly one of invoice or order."]})
    check_expires_after(now, fields.get("expires_at"), "intent")
    if order is not None:
        # Locked while the intent is created: order_update refuses an order with an open
        # intent, so the total read here is the one confirm will collect.
        order = _lock_order(order)
        if order.invoice_id is not None:
            invoice, order = order.invoice, None
    customer: Customer | None
    if invoice is not None:
        invoice = lock_invoices([invoice])[0]
        check_invoice_payable(invoice, f"Invoice {invoice.id} is {invoice.status}.")
        payable = round_amount(invoice_amount_payable(invoice), invoice.currency_id)
        if payable <= 0:
            raise DomainError("invoice_nothing_due", f"Invoice {invoice.id} has nothing due.")
        due, currency, customer = payable, invoice.currency_id, invoice.customer
    elif order is not None:
        if order.status == OrderStatus.INVOICED:
            raise DomainError("order_invoiced", f"Order {order.id} is already invoiced.")
        due, currency, customer = order.total, order.currency_id, order.customer
    else:
        assert payment_link is not None
        due, currency, customer = payment_link.amount, payment_link.currency_id, None
        customer = payment_link.customer
    amount = due if amount is None else round_amount(amount, currency)
    if payment_link is None and amount != due:
        # Confirm collects exactly what is owed then; a part would leave it owing.
        raise InvalidInput(
            {"amount": [f"An intent collects what is owed: {due}. Leave amount out or send it."]}
        )
    if amount <= 0 or amount > due:
        raise InvalidInput({"amount": [f"The amount must be positive and at most {due}."]})
    if fields.get("save_card_and_make_default") and customer is None:
        raise InvalidInput(
            {"save_card_and_make_default": ["Saving the card needs the intent's customer."]}
        )
    intent = Intent(
        workspace=workspace,
        test_mode=test_mode,
        amount=amount,
        currency_id=currency,
        customer=customer,
        invoice=invoice,
        order=order,
        payment_link=payment_link,
        **fields,
    )
    intent.client_secret = _new_client_secret(intent.id)
    intent.save()
    record_intent(intent, "created")
    return intent


def _past_expiry(intent: Intent, now: datetime) -> bool:
    return intent.expires_at is not None and intent.expires_at <= now


def intent_expire_if_due(intent: Intent, now: datetime) -> bool:
    """Expire the (locked) intent once its `expires_at` has come; whether it has. Only
    for a caller that goes on: in a transaction that then raises, the expiry would be
    rolled back with it (refuse with `intent_refuse_if_expired` instead)."""
    if _past_expiry(intent, now):
        if intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD:
            transition_intent(intent, IntentStatus.EXPIRED, now)
        return True
    return False


def _expired(intent: Intent) -> DomainError:
    return DomainError("intent_expired", f"Intent {intent.id} has expired.")


@transaction.atomic
def _expire_locked_if_due(intent: Intent, now: datetime) -> bool:
    return intent_expire_if_due(lock_intent(intent), now)


def intent_refuse_if_expired(*, intent: Intent, now: datetime) -> None:
    """Refuse to pay an intent past its `expires_at` (`intent_expired`), having expired
    it first in a transaction of its own, so the expiry and its `intent.expired` event
    are committed although the refusal rolls back whatever it interrupts. Call it
    before the transaction that pays opens: inside one it would be rolled back too."""
    if _expire_locked_if_due(intent, now):
        raise _expired(intent)


def _order_invoice(order: Order, now: datetime) -> Invoice:
    """The order-to-invoice flow: a captured payment for an order confirms it (a draft's
    buyer has committed by paying), invoices it and finalizes that invoice, so the
    payment has a document to apply to."""
    if order.status == OrderStatus.DRAFT:
        order = order_confirm(order=order)
    invoice = order_invoice(order=order, now=now).invoice
    assert invoice is not None
    return invoice_finalize(invoice=invoice, now=now)


def _lock_order(order: Order) -> Order:
    # `of`: PostgreSQL cannot lock the nullable side of the outer join to `document`.
    return Order.objects.select_for_update(of=("self",)).get(pk=order.pk)


def _mismatch(intent: Intent, owed: Decimal, what: str) -> DomainError:
    return DomainError(
        "intent_amount_mismatch",
        f"Intent {intent.id} is for {intent.amount} but {what} owes {owed} now; nothing was "
        "charged. Cancel this intent and create a new one.",
    )


def _check_amount_owed(intent: Intent) -> None:
    """Before anything is charged, with the invoice or order locked: the intent's amount
    must still be exactly what is owed. More would collect what no one owes; less would
    finalize the intent while the invoice still owes the rest."""
    if intent.payment_link is not None:
        owed, what = payment_link_amount(intent.payment_link), "its payment link"
    elif intent.invoice is not None:
        owed = round_amount(invoice_amount_payable(intent.invoice), intent.currency_id)
        what = f"invoice {intent.invoice_id}"
    else:
        order = intent.order
        assert order is not None
        if order.status == OrderStatus.INVOICED:
            raise DomainError(
                "order_invoiced",
                f"Order {order.id} was invoiced after intent {intent.id} was created; cancel "
                "the intent and collect the invoice.",
            )
        owed, what = order.total, f"order {order.id}"
    if intent.amount != owed:
        raise _mismatch(intent, owed, what)


def _advance(intent: Intent, payment: Payment, now: datetime) -> Intent:
    """Carry the intent as far as its payment went."""
    if payment.status == PaymentStatus.FAILED:
        intent.failed_reason = payment.failed_reason
        transition_intent(intent, IntentStatus.FAILED, now)
        return intent
    if payment.status == PaymentStatus.PROCESSING:
        return intent  # waiting for the payer's authentication step
    if intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD:
        transition_intent(intent, IntentStatus.AUTHORIZED, now)
    transition_intent(intent, IntentStatus.CAPTURED, now)
    if intent.order is not None and not payment.allocations.exists():
        invoice = lock_invoices([_order_invoice(intent.order, now)])[0]
        owed = round_amount(invoice_amount_payable(invoice), invoice.currency_id)
        if owed != payment.amount:
            # The invoice is priced from the order's items as the order was, so this is a
            # pricing fault: roll the charge back rather than apply a part or a surplus.
            raise _mismatch(intent, owed, f"invoice {invoice.id} of order {intent.order_id}")
        PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=owed)
        settle_invoice(invoice, now)
        intent.invoice = invoice
    if intent.payment_link is not None and not intent.payment_link.reusable:
        PaymentLink.objects.filter(pk=intent.payment_link_id).update(paid_at=now)
    transition_intent(intent, IntentStatus.FINALIZED, now)
    return intent


def intent_confirm(
    *, intent: Intent, source: Source, now: datetime, off_session: bool = False
) -> Intent:
    """Pay the intent with `source`: authorized when the gateway accepts, captured when
    the payment succeeds, finalized once it is applied. A decline fails the intent. A
    remote gateway is called once the reserved payment has committed."""
    intent_refuse_if_expired(intent=intent, now=now)
    intent = _intent_confirm(intent=intent, source=source, now=now, off_session=off_session)
    if intent.payment is None or not is_reserved(intent.payment):
        return intent
    followed: list[Intent] = []
    charge_after_commit(
        intent.payment,
        off_session=off_session,
        now=now,
        then=lambda: followed.append(intent_follow_payment(intent=intent, now=now)),
    )
    return followed[0] if followed else intent


@transaction.atomic
def intent_follow_payment(*, intent: Intent, now: datetime) -> Intent:
    """Carry an open intent as far as its payment went since (its gateway answered)."""
    intent = lock_intent(intent)
    payment = intent.payment
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or payment is None:
        return intent
    if payment.status == PaymentStatus.CANCELLED:
        # Nothing is left to pay it with: a new confirm is refused (it has a payment).
        transition_intent(intent, IntentStatus.CANCELLED, now)
        return intent
    if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED):
        return intent  # still processing
    return _advance(intent, payment, now)


@transaction.atomic
def _intent_confirm(*, intent: Intent, source: Source, now: datetime, off_session: bool) -> Intent:
    if intent.invoice_id:
        lock_invoices([Invoice(pk=intent.invoice_id)])
    if intent.order_id:
        _lock_order(Order(pk=intent.order_id))
    intent = lock_intent(intent)
    if not took_money(intent.payment):
        refuse_if_invoice_closed(intent.invoice, f"intent {intent.id}")
    if _past_expiry(intent, now):
        # Expired already, on its own (intent_refuse_if_expired): nothing to roll back.
        raise _expired(intent)
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or intent.payment_id:
        raise DomainError(
            "intent_invalid_transition",
            f"Intent {intent.id} is {intent.status}; only a new intent can be confirmed.",
        )
    check_chargeable(source, intent.customer)
    _check_amount_owed(intent)
    shares: list[tuple[Invoice, Decimal]] = []
    if intent.invoice is not None:
        shares = resolve_allocations(
            [AllocationRequest(intent.invoice, intent.amount)], intent.currency_id, None
        ).shares
    payment = create_payment(
        workspace=intent.workspace,
        test_mode=intent.test_mode,
        customer=intent.customer or source.customer,
        currency=intent.currency_id,
        amount=intent.amount,
        shares=shares,
        source=source,
        now=now,
        description=(intent.payment_link.description if intent.payment_link else ""),
        return_url=intent.return_url,
    )
    intent.payment, intent.source = payment, source
    intent.save(update_fields=["payment", "source", "updated_at"])
    payment = charge(payment, source, off_session=off_session, now=now)
    return _advance(intent, payment, now)


@transaction.atomic
def intent_settle_at_gateway(
    *, intent: Intent, gateway: str, reference: str, now: datetime
) -> Intent:
    """The payer paid the intent on the gateway's own page (Stripe Checkout): record the
    payment the gateway already took, as `intent_confirm` records a charge. An intent
    already paid or closed is refused (`intent_invalid_transition`), so a repeated
    report of one checkout applies once."""
    if intent.invoice_id:
        lock_invoices([Invoice(pk=intent.invoice_id)])
    if intent.order_id:
        _lock_order(Order(pk=intent.order_id))
    intent = lock_intent(intent)
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or intent.payment_id:
        raise DomainError(
            "intent_invalid_transition",
            f"Intent {intent.id} is {intent.status}; it was settled already.",
        )
    _check_amount_owed(intent)
    shares: list[tuple[Invoice, Decimal]] = []
    if intent.invoice is not None:
        shares = resolve_allocations(
            [AllocationRequest(intent.invoice, intent.amount)], intent.currency_id, None
        ).shares
    payment = create_payment(
        workspace=intent.workspace,
        test_mode=intent.test_mode,
        customer=intent.customer,
        currency=intent.currency_id,
        amount=intent.amount,
        shares=shares,
        source=None,
        now=now,
        gateway=gateway,
        description=(intent.payment_link.description if intent.payment_link else ""),
        return_url=intent.return_url,
    )
    intent.payment = payment
    intent.save(update_fields=["payment", "updated_at"])
    payment = apply_gateway_result(payment, ChargeResult(ChargeOutcome.SUCCEEDED, reference), now)
    return _advance(intent, payment, now)


def intent_complete_authentication(*, intent: Intent, approved: bool, now: datetime) -> Intent:
    intent = Intent.objects.select_related("payment").get(pk=intent.pk)
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or intent.payment is None:
        raise DomainError(
            "intent_not_awaiting_authentication", f"Intent {intent.id} is {intent.status}."
        )
    payment_complete_authentication(payment=intent.payment, approved=approved, now=now)
    return intent_follow_payment(intent=intent, now=now)


@transaction.atomic
def payment_cancel_with_intent(*, payment: Payment, now: datetime) -> Payment:
    """Cancel a payment; the intent waiting on it (its payer at the authentication step)
    is cancelled with it, rather than left open with no way to be paid."""
    intent = Intent.objects.filter(payment=payment).first()
    if intent is not None:
        intent = lock_intent(intent)  # before the payment, as intent_cancel locks them
    payment = payment_cancel(payment=payment, now=now)
    if intent is not None:
        intent_follow_payment(intent=intent, now=now)
    return payment


@transaction.atomic
def intent_cancel(*, intent: Intent, now: datetime) -> Intent:
    intent = lock_intent(intent)
    if intent.status not in INTENT_OPEN_STATUSES:
        raise DomainError("intent_invalid_transition", f"Intent {intent.id} is {intent.status}.")
    if intent.payment is not None and intent.payment.status == PaymentStatus.PROCESSING:
        payment_cancel(payment=intent.payment, now=now)
    transition_intent(intent, IntentStatus.CANCELLED, now)
    return intent
