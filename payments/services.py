"""Payment writes: sources, charges, allocations to invoices, refunds, links and intents.

Every service is atomic and records its events in the same transaction. Invoices a
payment applies to are locked first, always in id order, so two payments racing for the
same invoice are serialized and the second sees what the first took: an invoice is
never over-applied.

Gateways are called inside the transaction because the sandbox answers in process; a
gateway that calls out over the network (Stripe) will reserve the payment as processing,
commit, call, and settle in a second transaction, so that no lock is held over the wire.
"""

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F

from billing.errors import DomainError, InvalidInput
from billing.models import Currency, Workspace
from billing.money import round_amount
from billing.services.events import event_record
from customers.models import Customer
from invoices.choices import InvoiceStatus
from invoices.models import Invoice, Order, OrderStatus
from invoices.notes import workspace_today
from invoices.selectors import invoice_amount_due, invoice_amount_payable
from invoices.services import invoice_finalize, invoice_settle_payments
from payments.choices import (
    INTENT_OPEN_STATUSES,
    INTENT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    GatewayKind,
    IntentStatus,
    PaymentStatus,
    SourceStatus,
    SourceUsage,
)
from payments.gateways.base import CardInput, CardRejected, ChargeOutcome, ChargeResult
from payments.gateways.registry import gateway_for
from payments.models import (
    Intent,
    Payment,
    PaymentAllocation,
    PaymentGateway,
    PaymentLink,
    Refund,
    Source,
)

# How long a payment may wait for the payer's authentication step (3-D Secure) while
# holding its invoices' amount; then the expiry sweep cancels it and expires its intent.
PAYMENT_AUTHENTICATION_WINDOW = timedelta(hours=1)

PAYABLE_INVOICE_STATUSES = (
    InvoiceStatus.FINALIZED,
    InvoiceStatus.PENDING,
    InvoiceStatus.UNCOLLECTIBLE,
)


def _plain(data: Any) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return plain


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    from payments.api.serializers import PaymentSerializer

    return _plain(PaymentSerializer(payment).data)


def intent_snapshot(intent: Intent) -> dict[str, Any]:
    from payments.api.serializers import IntentSerializer

    return _plain(IntentSerializer(intent).data)


def _record_payment(payment: Payment, verb: str) -> None:
    event_record(
        workspace=payment.workspace,
        test_mode=payment.test_mode,
        type=f"payment.{verb}",
        object_id=payment.id,
        data=payment_snapshot(payment),
    )


def _record_intent(intent: Intent, verb: str) -> None:
    event_record(
        workspace=intent.workspace,
        test_mode=intent.test_mode,
        type=f"intent.{verb}",
        object_id=intent.id,
        data=intent_snapshot(intent),
    )


# Gateways


def _check_gateway_enabled(workspace: Workspace, test_mode: bool, kind: str) -> None:
    connection = PaymentGateway.objects.filter(
        workspace=workspace, test_mode=test_mode, gateway=kind
    ).first()
    if kind == GatewayKind.SANDBOX and connection is None:
        return  # the sandbox is built in
    if connection is None or not connection.enabled:
        raise DomainError(
            "gateway_not_enabled", f"The {kind} gateway is not enabled in this workspace."
        )


@transaction.atomic
def payment_gateway_create(
    *, workspace: Workspace, test_mode: bool, gateway: str, **fields: Any
) -> PaymentGateway:
    if PaymentGateway.objects.filter(
        workspace=workspace, test_mode=test_mode, gateway=gateway
    ).exists():
        raise DomainError(
            "gateway_exists", f"The {gateway} gateway is already set up; update it instead."
        )
    return PaymentGateway.objects.create(
        workspace=workspace, test_mode=test_mode, gateway=gateway, **fields
    )


@transaction.atomic
def payment_gateway_update(*, gateway: PaymentGateway, **fields: Any) -> PaymentGateway:
    gateway = PaymentGateway.objects.select_for_update().get(pk=gateway.pk)
    for name, value in fields.items():
        setattr(gateway, name, value)
    gateway.save()
    return gateway


@transaction.atomic
def payment_gateway_delete(*, gateway: PaymentGateway) -> None:
    gateway.delete()


@transaction.atomic
def payment_gateways_provision(*, workspace: Workspace, test_mode: bool) -> None:
    """Give the workspace its built-in sandbox gateway row, once (the list shows it)."""
    PaymentGateway.objects.get_or_create(
        workspace=workspace, test_mode=test_mode, gateway=GatewayKind.SANDBOX
    )


# Sources


def _tokenize(gateway: str, card: CardInput, now: datetime) -> Any:
    try:
        return gateway_for(gateway).tokenize(card, today_year=now.year, today_month=now.month)
    except CardRejected as rejected:
        raise InvalidInput({rejected.field: [rejected.message]}) from None


@transaction.atomic
def source_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer | None,
    gateway: str,
    card: CardInput,
    usage: str = SourceUsage.REUSABLE,
    now: datetime,
    metadata: dict[str, str] | None = None,
    payer_scope: str = "",
) -> Source:
    """Tokenize the card with the gateway (in memory) and store only the token and the
    card's display fields."""
    _check_gateway_enabled(workspace, test_mode, gateway)
    tokenized = _tokenize(gateway, card, now)
    return Source.objects.create(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        gateway=gateway,
        usage=usage,
        status=SourceStatus.CHARGEABLE,
        card_brand=tokenized.brand,
        card_last4=tokenized.last4,
        card_exp_month=tokenized.exp_month,
        card_exp_year=tokenized.exp_year,
        gateway_token=tokenized.token,
        metadata=metadata or {},
        payer_scope=payer_scope,
    )


def source_create_sandbox_card(
    *,
    customer: Customer,
    card_number: str,
    exp_month: int,
    exp_year: int,
    usage: str = SourceUsage.REUSABLE,
    now: datetime,
) -> Source:
    """A chargeable sandbox source for the customer from one of the test cards
    (payments.gateways.sandbox): 4242… succeeds, 4000…0002 is declined, 4000…9995 lacks
    funds, 4000 0025 0000 3155 needs the payer's authentication (off-session it fails)."""
    return source_create(
        workspace=customer.workspace,
        test_mode=customer.test_mode,
        customer=customer,
        gateway=GatewayKind.SANDBOX,
        card=CardInput(number=card_number, exp_month=exp_month, exp_year=exp_year),
        usage=usage,
        now=now,
    )


@transaction.atomic
def source_disable(*, source: Source) -> Source:
    """A source that can no longer be charged (the customer removed the card)."""
    source = Source.objects.select_for_update().get(pk=source.pk)
    source.status = SourceStatus.FINALIZED
    source.save(update_fields=["status", "updated_at"])
    return source


def _check_chargeable(source: Source, customer: Customer | None) -> None:
    if source.status != SourceStatus.CHARGEABLE:
        raise DomainError(
            "source_not_chargeable", f"Source {source.id} is {source.status}, not chargeable."
        )
    if customer is not None and source.customer_id not in (None, customer.pk):
        raise InvalidInput({"source": ["This source belongs to another customer."]})


# Payments


@dataclass(frozen=True)
class AllocationRequest:
    invoice: Invoice
    amount: Decimal | None = None  # None: the invoice's whole payable amount


def _lock_invoices(invoices: Sequence[Invoice]) -> list[Invoice]:
    """Lock the invoices' rows in id order: racing payments always queue the same way."""
    ids = sorted({invoice.pk for invoice in invoices})
    return list(Invoice.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))


def _transition(payment: Payment, target: PaymentStatus) -> None:
    if (payment.status, target) not in PAYMENT_TRANSITIONS:
        raise DomainError(
            "payment_invalid_transition",
            f"Payment {payment.id} is {payment.status} and cannot become {target}.",
        )
    payment.status = target


def _settle_invoices(payment: Payment, now: datetime) -> None:
    invoices = _lock_invoices(list(Invoice.objects.filter(payment_allocations__payment=payment)))
    for invoice in invoices:
        invoice_settle_payments(invoice=invoice, now=now)


def _resolve_allocations(
    requests: Sequence[AllocationRequest], currency: str, customer: Customer | None
) -> list[tuple[Invoice, Decimal]]:
    """Validate each requested share against its locked invoice."""
    locked = {invoice.pk: invoice for invoice in _lock_invoices([r.invoice for r in requests])}
    if len(locked) != len(requests):
        raise InvalidInput({"allocations": ["Each invoice may appear only once."]})
    shares = []
    for index, request in enumerate(requests):
        invoice = locked[request.invoice.pk]
        field = "invoice" if len(requests) == 1 else f"allocations[{index}].invoice"
        if invoice.status not in PAYABLE_INVOICE_STATUSES:
            raise DomainError(
                "invoice_not_payable",
                f"Invoice {invoice.id} is {invoice.status}; only finalized, pending and "
                "uncollectible invoices take payments.",
            )
        if invoice.currency_id != currency:
            raise InvalidInput({field: [f"Invoice {invoice.id} is in {invoice.currency_id}."]})
        if customer is not None and invoice.customer_id != customer.pk:
            raise InvalidInput({field: [f"Invoice {invoice.id} belongs to another customer."]})
        payable = round_amount(invoice_amount_payable(invoice), currency)
        amount = payable if request.amount is None else round_amount(request.amount, currency)
        if payable <= 0:
            raise DomainError("invoice_nothing_due", f"Invoice {invoice.id} has nothing due.")
        if amount <= 0:
            raise InvalidInput({"amount": ["The amount must be positive."]})
        if amount > payable:
            raise DomainError(
                "payment_exceeds_amount_due",
                f"{amount} exceeds what invoice {invoice.id} still owes ({payable}).",
            )
        shares.append((invoice, amount))
    return shares


def _create_payment(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer | None,
    currency: str,
    amount: Decimal,
    shares: Sequence[tuple[Invoice, Decimal]],
    source: Source | None,
    now: datetime,
    **fields: Any,
) -> Payment:
    payment = Payment.objects.create(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        currency_id=currency,
        amount=amount,
        date=fields.pop("date", None) or workspace_today(workspace, now),
        source=source,
        gateway=source.gateway if source else "",
        **fields,
    )
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice=invoice, amount=share)
        for invoice, share in shares
    )
    _record_payment(payment, "created")
    return payment


def _apply_result(payment: Payment, result: ChargeResult, now: datetime) -> Payment:
    """Move the payment (and its source and invoices) to what the gateway answered."""
    payment.gateway_reference = result.reference
    if result.outcome == ChargeOutcome.SUCCEEDED:
        _transition(payment, PaymentStatus.SUCCEEDED)
        payment.payment_date = now
        payment.failed_reason = ""
    elif result.outcome == ChargeOutcome.FAILED:
        _transition(payment, PaymentStatus.FAILED)
        payment.failed_reason = result.failed_reason
    else:
        _transition(payment, PaymentStatus.PROCESSING)
        payment.authentication_expires_at = now + PAYMENT_AUTHENTICATION_WINDOW
    payment.save()
    source = payment.source
    if source is not None:
        if result.outcome == ChargeOutcome.SUCCEEDED and source.usage == SourceUsage.SINGLE:
            source.status = SourceStatus.CONSUMED
        elif result.outcome == ChargeOutcome.REQUIRES_ACTION:
            source.status = SourceStatus.WAITING_AUTHORIZATION
        elif source.status == SourceStatus.WAITING_AUTHORIZATION:
            is_single = source.usage == SourceUsage.SINGLE
            succeeded = result.outcome == ChargeOutcome.SUCCEEDED
            source.status = (
                SourceStatus.CONSUMED if succeeded and is_single else SourceStatus.CHARGEABLE
            )
            if not succeeded and is_single:
                source.status = SourceStatus.FAILED
        source.save(update_fields=["status", "updated_at"])
    _settle_invoices(payment, now)
    if payment.status == PaymentStatus.SUCCEEDED:
        _record_payment(payment, "succeeded")
    elif payment.status == PaymentStatus.FAILED:
        _record_payment(payment, "failed")
    return payment


def _charge(payment: Payment, source: Source, *, off_session: bool, now: datetime) -> Payment:
    _check_gateway_enabled(payment.workspace, payment.test_mode, source.gateway)
    result = gateway_for(source.gateway).charge(
        token=source.gateway_token,
        amount=payment.amount,
        currency=payment.currency_id,
        off_session=off_session,
        reference=payment.id,
    )
    return _apply_result(payment, result, now)


@transaction.atomic
def payment_charge_invoice(*, invoice: Invoice, source: Source, now: datetime) -> Payment:
    """Charge what the invoice still owes through the source, off-session (no payer is
    there to authenticate). A decline is a failed payment with `failed_reason`, not an
    error; nothing due or an unchargeable source raise DomainError
    (`invoice_nothing_due`, `source_not_chargeable`)."""
    customer = invoice.customer
    _check_chargeable(source, customer)
    shares = _resolve_allocations([AllocationRequest(invoice)], invoice.currency_id, customer)
    payment = _create_payment(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        customer=customer,
        currency=invoice.currency_id,
        amount=shares[0][1],
        shares=shares,
        source=source,
        now=now,
        subscription_id=invoice.subscription_id,
    )
    return _charge(payment, source, off_session=True, now=now)


@transaction.atomic
def payment_create(
    *,
    workspace: Workspace,
    test_mode: bool,
    currency: Currency | None = None,
    customer: Customer | None = None,
    allocations: Sequence[AllocationRequest] = (),
    amount: Decimal | None = None,
    source: Source | None = None,
    status: str | None = None,
    now: datetime,
    **fields: Any,
) -> Payment:
    """Record a payment for one or more invoices (or none).

    With a `source` the payment is charged now (on-session: a card that needs the
    payer's authentication leaves it processing). Without one it is a payment received
    outside the gateways (a transfer, cash) and succeeds at once, unless `status` is
    `requires_payment_method`: then it waits for `authorize`.
    """
    if customer is None and allocations:
        customer = allocations[0].invoice.customer
    if currency is None and allocations:
        currency = allocations[0].invoice.currency
    if currency is None:
        currency = customer.currency if customer else None
    if currency is None:
        raise InvalidInput({"currency": ["Name the currency, an invoice or a customer."]})
    if source is not None:
        _check_chargeable(source, customer)
    requests = list(allocations)
    if amount is not None and len(requests) == 1 and requests[0].amount is None:
        requests = [AllocationRequest(requests[0].invoice, amount)]
    shares = _resolve_allocations(requests, currency.code, customer) if requests else []
    total = sum((share for _, share in shares), Decimal(0))
    if shares and amount is not None and round_amount(amount, currency.code) != total:
        raise InvalidInput({"amount": [f"The allocations add up to {total}, not {amount}."]})
    if not shares:
        if amount is None:
            raise InvalidInput({"amount": ["Name the amount or the invoices paid."]})
        total = round_amount(amount, currency.code)
        if total <= 0:
            raise InvalidInput({"amount": ["The amount must be positive."]})
    payment = _create_payment(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        currency=currency.code,
        amount=total,
        shares=shares,
        source=source,
        now=now,
        **fields,
    )
    if source is not None:
        return _charge(payment, source, off_session=False, now=now)
    if status == PaymentStatus.REQUIRES_PAYMENT_METHOD:
        return payment
    return _apply_result(payment, ChargeResult(ChargeOutcome.SUCCEEDED, ""), now)


def _lock_payment(payment: Payment) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)


@transaction.atomic
def payment_authorize(*, payment: Payment, source: Source, now: datetime) -> Payment:
    """Charge a payment waiting for a payment method through `source`."""
    _lock_invoices(list(Invoice.objects.filter(payment_allocations__payment=payment)))
    payment = _lock_payment(payment)
    if payment.status != PaymentStatus.REQUIRES_PAYMENT_METHOD:
        raise DomainError(
            "payment_invalid_transition",
            f"Payment {payment.id} is {payment.status}; only payments waiting for a payment "
            "method can be authorized.",
        )
    _check_chargeable(source, payment.customer)
    payment.source, payment.gateway = source, source.gateway
    return _charge(payment, source, off_session=False, now=now)


@transaction.atomic
def payment_complete_authentication(*, payment: Payment, approved: bool, now: datetime) -> Payment:
    """The payer answered the gateway's extra authentication step."""
    _lock_invoices(list(Invoice.objects.filter(payment_allocations__payment=payment)))
    payment = _lock_payment(payment)
    if payment.status != PaymentStatus.PROCESSING or payment.source is None:
        raise DomainError(
            "payment_not_awaiting_authentication",
            f"Payment {payment.id} is {payment.status}; nothing to authenticate.",
        )
    result = gateway_for(payment.gateway).complete_action(
        reference=payment.gateway_reference, approved=approved
    )
    return _apply_result(payment, result, now)


@transaction.atomic
def payment_cancel(*, payment: Payment, now: datetime) -> Payment:
    _lock_invoices(list(Invoice.objects.filter(payment_allocations__payment=payment)))
    payment = _lock_payment(payment)
    _transition(payment, PaymentStatus.CANCELLED)
    payment.save(update_fields=["status", "updated_at"])
    _settle_invoices(payment, now)
    _record_payment(payment, "cancelled")
    return payment


@transaction.atomic
def payment_refund(
    *, payment: Payment, amount: Decimal | None = None, reason: str = "", now: datetime
) -> Payment:
    """Refund all or part of a succeeded payment. The refund comes off its allocations
    last first, restoring those invoices' amount due (a paid invoice is finalized again)."""
    _lock_invoices(list(Invoice.objects.filter(payment_allocations__payment=payment)))
    payment = _lock_payment(payment)
    if payment.status != PaymentStatus.SUCCEEDED:
        raise DomainError(
            "payment_not_refundable",
            f"Payment {payment.id} is {payment.status}; only succeeded payments are refunded.",
        )
    refundable = round_amount(payment.amount - payment.amount_refunded, payment.currency_id)
    amount = refundable if amount is None else round_amount(amount, payment.currency_id)
    if amount <= 0:
        raise InvalidInput({"amount": ["The amount must be positive."]})
    if amount > refundable:
        raise DomainError(
            "refund_exceeds_payment",
            f"{amount} exceeds what payment {payment.id} can still refund ({refundable}).",
        )
    reference = ""
    if payment.gateway:
        reference = (
            gateway_for(payment.gateway)
            .refund(
                reference=payment.gateway_reference, amount=amount, currency=payment.currency_id
            )
            .reference
        )
    remaining = amount
    for allocation in payment.allocations.order_by("-id"):
        take = min(remaining, allocation.amount - allocation.amount_refunded)
        if take > 0:
            PaymentAllocation.objects.filter(pk=allocation.pk).update(
                amount_refunded=F("amount_refunded") + take
            )
            remaining -= take
    Refund.objects.create(
        payment=payment, amount=amount, reason=reason, gateway_reference=reference, created_at=now
    )
    payment.amount_refunded += amount
    payment.save(update_fields=["amount_refunded", "updated_at"])
    _settle_invoices(payment, now)
    _record_payment(payment, "refunded")
    return payment


# Payment links


def _new_publishable_key() -> str:
    return f"pk_link_{secrets.token_urlsafe(24)}"


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
    **fields: Any,
) -> PaymentLink:
    """A link for an invoice takes its amount due, currency and customer by default."""
    if invoice is not None:
        if invoice.status not in PAYABLE_INVOICE_STATUSES:
            raise DomainError("invoice_not_payable", f"Invoice {invoice.id} is {invoice.status}.")
        currency = currency or invoice.currency
        customer = customer or invoice.customer
        if amount is None:
            amount = invoice_amount_due(invoice)
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
    amount = round_amount(amount, currency.code)
    if amount <= 0:
        raise InvalidInput({"amount": ["The amount must be positive."]})
    expires_at = fields.get("expires_at")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput({"expires_at": ["The link would already be expired."]})
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


# Intents


def _intent_transition(intent: Intent, target: IntentStatus, now: datetime) -> None:
    if (intent.status, target) not in INTENT_TRANSITIONS:
        raise DomainError(
            "intent_invalid_transition",
            f"Intent {intent.id} is {intent.status} and cannot become {target}.",
        )
    intent.status = target
    stamp = {
        IntentStatus.AUTHORIZED: "authorized_at",
        IntentStatus.CAPTURED: "captured_at",
        IntentStatus.FINALIZED: "finalized_at",
    }.get(target)
    if stamp:
        setattr(intent, stamp, now)
    intent.save()
    _record_intent(intent, str(target))


def _new_client_secret(intent_id: str) -> str:
    return f"{intent_id}_secret_{secrets.token_urlsafe(24)}"


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
    **fields: Any,
) -> Intent:
    """An intent to collect what an invoice owes, what an order costs, or a link's amount.
    An order already invoiced is collected through its invoice."""
    if sum(x is not None for x in (invoice, order, payment_link)) != 1:
        raise InvalidInput({"non_field_errors": ["Name exactly one of invoice or order."]})
    if order is not None and order.invoice_id is not None:
        invoice, order = order.invoice, None
    customer: Customer | None
    if invoice is not None:
        invoice = _lock_invoices([invoice])[0]
        if invoice.status not in PAYABLE_INVOICE_STATUSES:
            raise DomainError("invoice_not_payable", f"Invoice {invoice.id} is {invoice.status}.")
        payable = invoice_amount_payable(invoice)
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
    if amount <= 0 or amount > due:
        raise InvalidInput({"amount": [f"The amount must be positive and at most {due}."]})
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
    _record_intent(intent, "created")
    return intent


def _lock_intent(intent: Intent) -> Intent:
    return Intent.objects.select_for_update(of=("self",)).get(pk=intent.pk)


def _expire_if_due(intent: Intent, now: datetime) -> bool:
    if intent.expires_at is not None and intent.expires_at <= now:
        if intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD:
            _intent_transition(intent, IntentStatus.EXPIRED, now)
        return True
    return False


def _order_invoice(order: Order, now: datetime) -> Invoice:
    """The order-to-invoice flow: a captured payment for an order invoices it and
    finalizes that invoice, so the payment has a document to apply to."""
    from invoices.orders import order_invoice

    invoice = order_invoice(order=order, now=now).invoice
    assert invoice is not None
    return invoice_finalize(invoice=invoice, now=now)


def _advance(intent: Intent, payment: Payment, now: datetime) -> Intent:
    """Carry the intent as far as its payment went."""
    if payment.status == PaymentStatus.FAILED:
        intent.failed_reason = payment.failed_reason
        _intent_transition(intent, IntentStatus.FAILED, now)
        return intent
    if payment.status == PaymentStatus.PROCESSING:
        return intent  # waiting for the payer's authentication step
    if intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD:
        _intent_transition(intent, IntentStatus.AUTHORIZED, now)
    _intent_transition(intent, IntentStatus.CAPTURED, now)
    if intent.order is not None and not payment.allocations.exists():
        invoice = _lock_invoices([_order_invoice(intent.order, now)])[0]
        share = min(payment.amount, invoice_amount_payable(invoice))
        if share > 0:
            PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=share)
            invoice_settle_payments(invoice=invoice, now=now)
        intent.invoice = invoice
    if intent.payment_link is not None and not intent.payment_link.reusable:
        PaymentLink.objects.filter(pk=intent.payment_link_id).update(paid_at=now)
    _intent_transition(intent, IntentStatus.FINALIZED, now)
    return intent


@transaction.atomic
def intent_confirm(
    *, intent: Intent, source: Source, now: datetime, off_session: bool = False
) -> Intent:
    """Pay the intent with `source`: authorized when the gateway accepts, captured when
    the payment succeeds, finalized once it is applied. A decline fails the intent."""
    if intent.invoice_id:
        _lock_invoices([Invoice(pk=intent.invoice_id)])
    intent = _lock_intent(intent)
    if _expire_if_due(intent, now):
        raise DomainError("intent_expired", f"Intent {intent.id} has expired.")
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or intent.payment_id:
        raise DomainError(
            "intent_invalid_transition",
            f"Intent {intent.id} is {intent.status}; only a new intent can be confirmed.",
        )
    _check_chargeable(source, intent.customer)
    shares: list[tuple[Invoice, Decimal]] = []
    if intent.invoice is not None:
        shares = _resolve_allocations(
            [AllocationRequest(intent.invoice, intent.amount)], intent.currency_id, None
        )
    payment = _create_payment(
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
    payment = _charge(payment, source, off_session=off_session, now=now)
    return _advance(intent, payment, now)


@transaction.atomic
def intent_complete_authentication(*, intent: Intent, approved: bool, now: datetime) -> Intent:
    intent = _lock_intent(intent)
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or intent.payment is None:
        raise DomainError(
            "intent_not_awaiting_authentication", f"Intent {intent.id} is {intent.status}."
        )
    payment = payment_complete_authentication(payment=intent.payment, approved=approved, now=now)
    return _advance(intent, payment, now)


@transaction.atomic
def intent_cancel(*, intent: Intent, now: datetime) -> Intent:
    intent = _lock_intent(intent)
    if intent.status not in INTENT_OPEN_STATUSES:
        raise DomainError("intent_invalid_transition", f"Intent {intent.id} is {intent.status}.")
    if intent.payment is not None and intent.payment.status == PaymentStatus.PROCESSING:
        payment_cancel(payment=intent.payment, now=now)
    _intent_transition(intent, IntentStatus.CANCELLED, now)
    return intent


def intents_expire_due(*, now: datetime, limit: int = 500) -> int:
    """Expire intents past their `expires_at` still waiting for a payment method."""
    due = list(
        Intent.objects.filter(
            status=IntentStatus.REQUIRES_PAYMENT_METHOD, payment__isnull=True, expires_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        with transaction.atomic():
            intent = _lock_intent(Intent(pk=pk))
            _expire_if_due(intent, now)
    return len(due)


# The hosted checkout


class LinkUnavailable(DomainError):
    pass


def payment_link_state(link: PaymentLink, now: datetime) -> str:
    """open, paid or expired: what the hosted page shows."""
    if link.paid_at is not None:
        return "paid"
    if link.invoice is not None and link.invoice.status == InvoiceStatus.PAID:
        return "paid"
    if link.expires_at is not None and link.expires_at <= now:
        return "expired"
    return "open"


@transaction.atomic
def payment_link_pay(*, link: PaymentLink, card: CardInput, now: datetime) -> Intent:
    """One checkout attempt on the hosted page: an intent for the link, the card
    tokenized in memory into a single-use source, and the intent confirmed with it."""
    link = (
        PaymentLink.objects.select_for_update(of=("self",))
        .select_related("invoice")
        .get(pk=link.pk)
    )
    state = payment_link_state(link, now)
    if state != "open":
        raise LinkUnavailable(f"payment_link_{state}", f"This payment link is {state}.")
    # A new attempt supersedes one the payer left at the authentication step, which
    # would otherwise hold the invoice's amount.
    for abandoned in Intent.objects.filter(
        payment_link=link, status=IntentStatus.REQUIRES_PAYMENT_METHOD, payment__isnull=False
    ):
        intent_cancel(intent=abandoned, now=now)
    amount = link.amount
    if link.invoice is not None:
        amount = min(amount, invoice_amount_payable(link.invoice))
        if amount <= 0:
            raise LinkUnavailable("payment_link_paid", "This payment link is paid.")
    intent = intent_create(
        workspace=link.workspace,
        test_mode=link.test_mode,
        payment_link=link,
        amount=amount,
        now=now,
        return_url=link.return_url,
    )
    if link.invoice is not None:
        intent.invoice = link.invoice
        intent.save(update_fields=["invoice", "updated_at"])
    source = source_create(
        workspace=link.workspace,
        test_mode=link.test_mode,
        customer=link.customer,
        gateway=GatewayKind.SANDBOX,
        card=card,
        usage=SourceUsage.SINGLE,
        now=now,
    )
    return intent_confirm(intent=intent, source=source, now=now)


@transaction.atomic
def intent_pay_with_card(*, intent: Intent, card: CardInput, now: datetime) -> Intent:
    """The payer's card on the intent's hosted page: tokenized in memory into a
    single-use source, then the intent confirmed on-session."""
    source = source_create(
        workspace=intent.workspace,
        test_mode=intent.test_mode,
        customer=intent.customer,
        gateway=GatewayKind.SANDBOX,
        card=card,
        usage=SourceUsage.SINGLE,
        now=now,
    )
    return intent_confirm(intent=intent, source=source, now=now)


# Publishable (browser) checkout: no API token, only a key the payer was given. The views
# find the link, intent or payment by that key; these services never see the key.

PayerKeyOwner = PaymentLink | Intent | Payment


def _check_open_for_payer(owner: PayerKeyOwner, now: datetime) -> None:
    if isinstance(owner, PaymentLink):
        state = payment_link_state(owner, now)
        if state != "open":
            raise LinkUnavailable(f"payment_link_{state}", f"This payment link is {state}.")
    elif isinstance(owner, Intent):
        if owner.expires_at is not None and owner.expires_at <= now:
            raise DomainError("intent_expired", f"Intent {owner.id} has expired.")
        if owner.status not in INTENT_OPEN_STATUSES:
            raise DomainError("intent_invalid_transition", f"Intent {owner.id} is {owner.status}.")
    elif owner.status not in (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.PROCESSING):
        raise DomainError("payment_invalid_transition", f"Payment {owner.id} is {owner.status}.")


@transaction.atomic
def source_create_for_payer(
    *, owner: PayerKeyOwner, card: CardInput, usage: str = SourceUsage.SINGLE, now: datetime
) -> Source:
    """A sandbox card source created by the payer holding `owner`'s key, for `owner`'s
    customer. A reusable card needs a known customer to belong to; a card without one
    can be charged only by the checkout whose key created it (`payer_scope`)."""
    _check_open_for_payer(owner, now)
    if usage == SourceUsage.REUSABLE and owner.customer_id is None:
        raise InvalidInput(
            {"usage": ["Only a checkout for a known customer can save a reusable card."]}
        )
    return source_create(
        workspace=owner.workspace,
        test_mode=owner.test_mode,
        customer=owner.customer,
        gateway=GatewayKind.SANDBOX,
        card=card,
        usage=usage,
        now=now,
        payer_scope=owner.id,
    )


def _payer_source(payment: Payment, source_id: str) -> Source:
    """A source the payer of `payment` may charge: one of the payment's customer, or one
    created with this checkout's key. Anything else is unknown to them."""
    scopes = {payment.id}
    intent = Intent.objects.filter(payment=payment).first()
    if intent is not None:
        scopes.add(intent.id)
        if intent.payment_link_id:
            scopes.add(intent.payment_link_id)
    source = Source.objects.filter(
        pk=source_id, workspace_id=payment.workspace_id, test_mode=payment.test_mode
    ).first()
    if source is not None:
        of_customer = source.customer_id is not None and source.customer_id == payment.customer_id
        if of_customer or source.payer_scope in scopes:
            return source
    raise InvalidInput({"source": ["No such source for this payment."]})


@transaction.atomic
def payment_authorize_by_payer(
    *,
    payment: Payment,
    card: CardInput | None = None,
    source_id: str | None = None,
    now: datetime,
) -> Payment:
    """The payer pays a payment waiting for a payment method with a card (tokenized in
    memory into a single-use source) or a source they may charge. On-session: a card
    that needs authentication leaves the payment processing until `authenticate`."""
    if (card is None) == (source_id is None):
        raise InvalidInput({"non_field_errors": ["Send either card or source."]})
    if payment.status != PaymentStatus.REQUIRES_PAYMENT_METHOD:
        raise DomainError(
            "payment_invalid_transition",
            f"Payment {payment.id} is {payment.status}; only payments waiting for a payment "
            "method can be authorized.",
        )
    if card is not None:
        source = source_create(
            workspace=payment.workspace,
            test_mode=payment.test_mode,
            customer=payment.customer,
            gateway=GatewayKind.SANDBOX,
            card=card,
            usage=SourceUsage.SINGLE,
            now=now,
            payer_scope=payment.id,
        )
    else:
        assert source_id is not None
        source = _payer_source(payment, source_id)
    return payment_authorize(payment=payment, source=source, now=now)


@transaction.atomic
def payment_authenticate_by_payer(*, payment: Payment, approved: bool, now: datetime) -> Payment:
    """The payer's answer to the gateway's authentication step; the payment's intent, if
    it has one, follows it."""
    expires_at = payment.authentication_expires_at
    if payment.status == PaymentStatus.PROCESSING and expires_at is not None and expires_at <= now:
        raise DomainError(
            "payment_authentication_expired",
            f"Payment {payment.id} waited too long for its authentication.",
        )
    intent = Intent.objects.filter(payment=payment).first()
    if intent is not None:
        intent_complete_authentication(intent=intent, approved=approved, now=now)
    else:
        payment_complete_authentication(payment=payment, approved=approved, now=now)
    return Payment.objects.get(pk=payment.pk)


# Expiry


def _payment_expire_authentication(payment: Payment, now: datetime) -> bool:
    _lock_invoices(list(Invoice.objects.filter(payment_allocations__payment=payment)))
    intent = Intent.objects.select_for_update(of=("self",)).filter(payment=payment).first()
    payment = _lock_payment(payment)
    expires_at = payment.authentication_expires_at
    if payment.status != PaymentStatus.PROCESSING or expires_at is None or expires_at > now:
        return False  # answered meanwhile
    _transition(payment, PaymentStatus.CANCELLED)
    payment.failed_reason = "authentication_expired"
    payment.save(update_fields=["status", "failed_reason", "updated_at"])
    source = payment.source
    if source is not None and source.status == SourceStatus.WAITING_AUTHORIZATION:
        single = source.usage == SourceUsage.SINGLE
        source.status = SourceStatus.FAILED if single else SourceStatus.CHARGEABLE
        source.save(update_fields=["status", "updated_at"])
    _settle_invoices(payment, now)
    _record_payment(payment, "cancelled")
    if intent is not None and intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD:
        intent.failed_reason = "authentication_expired"
        _intent_transition(intent, IntentStatus.EXPIRED, now)
    return True


def payments_expire_due(*, now: datetime, limit: int = 500) -> int:
    """Cancel payments left at the authentication step past `authentication_expires_at`,
    releasing what they held of their invoices; their intents expire with them."""
    due = list(
        Payment.objects.filter(
            status=PaymentStatus.PROCESSING, authentication_expires_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    expired = 0
    for pk in due:
        with transaction.atomic():
            expired += _payment_expire_authentication(Payment(pk=pk), now)
    return expired


def checkouts_expire_due(*, now: datetime) -> int:
    """The beat sweep: intents past their expiry, and payments past their
    authentication window. Each object is expired in its own transaction."""
    return intents_expire_due(now=now) + payments_expire_due(now=now)
