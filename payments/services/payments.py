"""Payments: charges through a source or recorded as received, their allocations to
invoices, the payer's authentication step, cancellation and refunds.

An in-process gateway (the sandbox) is charged inside the service's transaction. A
remote one (Stripe) never is: the payment is first reserved, `processing` with no
gateway reference, and committed (it holds its invoices' amount, and its id is the
charge's idempotency key); the gateway is then called with no transaction open, and
its answer applied in a new transaction. A crash in between leaves the reservation,
which Stripe's `payment_intent.*` event (naming the payment in its metadata) or the
next charge of the same invoice settles.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from hashlib import sha256
from typing import Any, TypedDict, Unpack

from django.db import transaction
from django.db.models import F, Sum

from billing.clock import local_date, workspace_today
from billing.db import in_request_transaction
from billing.errors import DomainError, InvalidInput
from billing.links import public_url
from billing.models import Currency, Workspace
from billing.money import round_amount
from customers.choices import BalanceTransactionKind
from customers.models import Customer
from customers.selectors import customer_balance_unapplied
from customers.services import customer_balance_record
from invoices.models import Invoice
from invoices.selectors import invoice_balance_credit
from invoices.services.invoices import invoice_settle
from payments.choices import (
    PAYMENT_TRANSITIONS,
    GatewayKind,
    PaymentStatus,
    SourceStatus,
    SourceUsage,
)
from payments.gateways.base import ChargeOutcome, ChargeResult
from payments.gateways.registry import gateway_for
from payments.invoice_reads import invoice_amount_payable
from payments.models import Payment, PaymentAllocation, Refund, Source
from payments.selectors import invoice_paid
from payments.services._common import (
    check_chargeable,
    check_gateway_enabled,
    check_invoice_payable,
    lock_invoices,
    lock_payment,
    lock_payment_invoices,
    refuse_if_invoice_closed,
    took_money,
)
from payments.services._events import record_payment

# How long a payment may wait for the payer's authentication step (3-D Secure) while
# holding its invoices' amount; then the expiry sweep cancels it and expires its intent.
PAYMENT_AUTHENTICATION_WINDOW = timedelta(hours=1)


class PaymentFields(TypedDict, total=False):
    """What a new payment may also say (PaymentSerializer's writable fields that the
    services do not take apart)."""

    date: date | None
    payment_date: datetime | None
    description: str
    return_url: str
    enable_checkout: bool
    metadata: dict[str, Any]


class NewPaymentFields(PaymentFields, total=False):
    """What the payments of a subscription's invoice add: the subscription they pay."""

    subscription_id: str | None


@dataclass(frozen=True)
class AllocationRequest:
    invoice: Invoice
    amount: Decimal | None = None  # None: the invoice's whole payable amount
    # Where the request named it (`allocations.1`), for its errors; "" when the request's
    # own `invoice` and `amount` did.
    at: str = ""

    def field(self, name: str) -> str:
        return f"{self.at}.{name}" if self.at else name


def transition_payment(payment: Payment, target: PaymentStatus) -> None:
    if (payment.status, target) not in PAYMENT_TRANSITIONS:
        raise DomainError(
            "payment_invalid_transition",
            f"Payment {payment.id} is {payment.status} and cannot become {target}.",
        )
    payment.status = target


def check_payment_authorizable(payment: Payment, invoices: Iterable[Invoice]) -> None:
    """Whether `payment` may be charged now, asked the same way by the merchant's and the
    payer's authorize: a payment cancelled with its invoice (cancelled, or paid by other
    means) says what became of the invoice, not that the payment is cancelled."""
    if not took_money(payment):
        for invoice in invoices:
            refuse_if_invoice_closed(invoice, f"payment {payment.id}")
    check_awaiting_payment_method(payment)


def check_awaiting_payment_method(payment: Payment) -> None:
    if payment.status != PaymentStatus.REQUIRES_PAYMENT_METHOD:
        raise DomainError(
            "payment_invalid_transition",
            f"Payment {payment.id} is {payment.status}; only payments waiting for a payment "
            "method can be authorized.",
        )


def source_status_after_authentication(source: Source, *, succeeded: bool) -> str:
    """A single-use card is spent by its authentication step either way."""
    if source.usage == SourceUsage.SINGLE:
        return SourceStatus.CONSUMED if succeeded else SourceStatus.FAILED
    return SourceStatus.CHARGEABLE


def settle_invoice(invoice: Invoice, now: datetime) -> None:
    """Tell invoices what the payments applied to the (locked) invoice amount to now."""
    facts = invoice_paid(invoice)
    invoice_settle(invoice=invoice, paid=facts.paid, processing=facts.processing, now=now)


def settle_payment_invoices(payment: Payment, now: datetime) -> None:
    for invoice in lock_payment_invoices(payment):
        settle_invoice(invoice, now)


@dataclass(frozen=True)
class Allocated:
    """Requested shares checked against their locked invoices. A share above what its
    invoice owes is cut to it: the payment pays that invoice in full and the rest is the
    customer's credit (rules.md §7), recorded when the payment succeeds."""

    shares: list[tuple[Invoice, Decimal]]  # what each invoice takes
    requested: Decimal  # Σ the shares as asked for
    still_owed: Decimal  # Σ what the invoices owe beyond their shares

    @property
    def applied(self) -> Decimal:
        return sum((share for _, share in self.shares), Decimal(0))


def resolve_allocations(
    requests: Sequence[AllocationRequest], currency: str, customer: Customer | None
) -> Allocated:
    """Validate each requested share against its locked invoice."""
    locked = {invoice.pk: invoice for invoice in lock_invoices([r.invoice for r in requests])}
    if len(locked) != len(requests):
        raise InvalidInput({"allocations": ["Each invoice may appear only once."]})
    shares = []
    requested = still_owed = Decimal(0)
    for request in requests:
        invoice = locked[request.invoice.pk]
        field = request.field("invoice")
        check_invoice_payable(
            invoice,
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
            raise InvalidInput({request.field("amount"): ["The amount must be positive."]})
        share = min(amount, payable)
        shares.append((invoice, share))
        requested += amount
        still_owed += payable - share
    return Allocated(shares=shares, requested=requested, still_owed=still_owed)


def payment_total(allocated: Allocated, amount: Decimal | None, currency: str) -> Decimal:
    """The payment's amount: `amount` when named, else the shares asked for. Above what
    the invoices owe, the excess is credit only once every invoice named is paid in full:
    credit left while an invoice of the same payment still owes would be a misallocation."""
    total = allocated.requested if amount is None else round_amount(amount, currency)
    if total < allocated.requested or (total > allocated.requested and allocated.still_owed):
        raise InvalidInput(
            {"amount": [f"The allocations add up to {allocated.requested}, not {total}."]}
        )
    if total > allocated.applied and allocated.still_owed:
        raise DomainError(
            "payment_exceeds_amount_due",
            f"{total - allocated.applied} would be left as credit while the payment's invoices "
            f"still owe {allocated.still_owed}; pay them in full first.",
        )
    return total


def create_payment(
    *,
    workspace: Workspace,
    test_mode: bool,
    customer: Customer | None,
    currency: str,
    amount: Decimal,
    shares: Sequence[tuple[Invoice, Decimal]],
    source: Source | None,
    now: datetime,
    gateway: str = "",
    **fields: Unpack[NewPaymentFields],
) -> Payment:
    """A new payment and its allocations, with its `payment.created` event. `gateway`:
    the one that took it without a source of ours (its own checkout page), so the event
    names it from the first."""
    values: dict[str, Any] = dict(fields)
    payment = Payment.objects.create(
        workspace=workspace,
        test_mode=test_mode,
        customer=customer,
        currency_id=currency,
        amount=amount,
        date=values.pop("date", None) or workspace_today(workspace, now),
        source=source,
        gateway=source.gateway if source else gateway,
        **values,
    )
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice=invoice, amount=share)
        for invoice, share in shares
    )
    record_payment(payment, "created")
    return payment


def apply_gateway_result(payment: Payment, result: ChargeResult, now: datetime) -> Payment:
    """Move the payment (and its source and invoices) to what the gateway answered."""
    payment.gateway_reference = result.reference
    payment.authentication_url = result.action_url
    if result.outcome == ChargeOutcome.SUCCEEDED:
        transition_payment(payment, PaymentStatus.SUCCEEDED)
        # A payment received outside the gateways keeps the day it was received on.
        payment.payment_date = payment.payment_date or now
        payment.failed_reason = ""
    elif result.outcome == ChargeOutcome.FAILED:
        transition_payment(payment, PaymentStatus.FAILED)
        payment.failed_reason = result.failed_reason
    else:
        if payment.status != PaymentStatus.PROCESSING:  # a reserved payment already is
            transition_payment(payment, PaymentStatus.PROCESSING)
        payment.authentication_expires_at = now + PAYMENT_AUTHENTICATION_WINDOW
    payment.save()
    source = payment.source
    if source is not None:
        if result.outcome == ChargeOutcome.SUCCEEDED and source.usage == SourceUsage.SINGLE:
            source.status = SourceStatus.CONSUMED
        elif result.outcome == ChargeOutcome.REQUIRES_ACTION:
            source.status = SourceStatus.WAITING_AUTHORIZATION
        elif source.status == SourceStatus.WAITING_AUTHORIZATION:
            source.status = source_status_after_authentication(
                source, succeeded=result.outcome == ChargeOutcome.SUCCEEDED
            )
        source.save(update_fields=["status", "updated_at"])
    settle_payment_invoices(payment, now)
    if payment.status == PaymentStatus.SUCCEEDED:
        _credit_excess(payment)
        record_payment(payment, "succeeded")
    elif payment.status == PaymentStatus.FAILED:
        record_payment(payment, "failed")
    return payment


def close_at_gateway_later(payment: Payment) -> None:
    """A payment given up on (cancelled, or its authentication expired) whose Stripe
    PaymentIntent the payer could still complete is to be cancelled there, once this
    transaction has committed (payments.services.stripe_close)."""
    if payment.gateway == GatewayKind.STRIPE and payment.gateway_reference:
        payment.gateway_close_due = True


def authentication_return_url(payment: Payment) -> str:
    """Where the gateway sends the payer back after its authentication page: the
    payment's own `return_url`, else this server's public address."""
    return payment.return_url or public_url("/")


def _credit_excess(payment: Payment) -> None:
    """What a payment of invoices brought beyond the shares they took is the customer's
    credit, once the money is in. A payment of no invoice (an order's, applied once the
    order is invoiced; a link's) leaves none: nothing says it was more than asked."""
    applied = payment.allocations.aggregate(total=Sum("amount"))["total"]
    if applied is None or payment.customer is None or payment.amount <= applied:
        return
    customer_balance_record(
        customer=payment.customer,
        currency=payment.currency_id,
        amount=payment.amount - applied,
        kind=BalanceTransactionKind.PAYMENT,
        invoice_id="",
        source_id=payment.id,
        description=f"Payment {payment.id} beyond what its invoices owed",
    )


def _nothing() -> None:
    return None


def is_reserved(payment: Payment) -> bool:
    """Waiting for a remote gateway's call: nothing was asked of the gateway yet, or its
    answer was lost."""
    return payment.status == PaymentStatus.PROCESSING and not payment.gateway_reference


def charge(payment: Payment, source: Source, *, off_session: bool, now: datetime) -> Payment:
    """Charge through an in-process gateway now; for a remote one, only reserve the
    payment (the caller's transaction commits it, then `charge_reserved` calls)."""
    check_gateway_enabled(payment.workspace, payment.test_mode, source.gateway)
    gateway = gateway_for(
        source.gateway, workspace_id=payment.workspace_id, test_mode=payment.test_mode
    )
    gateway.check_amount(payment.amount, payment.currency_id)
    if gateway.remote:
        transition_payment(payment, PaymentStatus.PROCESSING)
        payment.save()
        settle_payment_invoices(payment, now)
        return payment
    result = gateway.charge(
        token=source.gateway_token,
        amount=payment.amount,
        currency=payment.currency_id,
        off_session=off_session,
        reference=payment.id,
        return_url=authentication_return_url(payment),
    )
    return apply_gateway_result(payment, result, now)


def charge_after_commit(
    payment: Payment, *, off_session: bool, now: datetime, then: Callable[[], object] = _nothing
) -> Payment:
    """Charge a reserved payment now, or, inside an API request's transaction, once that
    transaction has committed (the answer then says `processing`; the charge's outcome,
    or else Stripe's event, settles it moments later). `then` runs after the charge."""
    if not is_reserved(payment):
        return payment
    if not in_request_transaction():
        charged = charge_reserved(payment, off_session=off_session, now=now)
        then()
        return charged

    def charge_now() -> None:
        charge_reserved(payment, off_session=off_session, now=now)
        then()

    # robust: a failed call leaves the reservation for the event to settle, and the
    # request's answer (already committed) stands.
    transaction.on_commit(charge_now, robust=True)
    return payment


def charge_reserved(payment: Payment, *, off_session: bool, now: datetime) -> Payment:
    """Call the remote gateway for a reserved payment, then apply its answer in a new
    transaction. Repeating it for the same payment charges once (its id is the
    idempotency key), so a lost answer is fetched by calling again."""
    if not is_reserved(payment) or payment.source is None:
        return payment
    source = payment.source
    result = gateway_for(
        source.gateway, workspace_id=payment.workspace_id, test_mode=payment.test_mode
    ).charge(
        token=source.gateway_token,
        amount=payment.amount,
        currency=payment.currency_id,
        off_session=off_session,
        reference=payment.id,
        return_url=authentication_return_url(payment),
    )
    return _apply_to_reserved(payment, result, now)


@transaction.atomic
def _apply_to_reserved(payment: Payment, result: ChargeResult, now: datetime) -> Payment:
    lock_payment_invoices(payment)
    payment = lock_payment(payment)
    if not is_reserved(payment):
        return payment  # Stripe's event settled it first
    return apply_gateway_result(payment, result, now)


def _reserved_charge_of(invoice: Invoice, source: Source) -> Payment | None:
    """A charge of this invoice through this source whose gateway answer was lost."""
    return (
        Payment.objects.filter(
            allocations__invoice=invoice,
            source=source,
            status=PaymentStatus.PROCESSING,
            gateway_reference="",
        )
        .select_related("source")
        .first()
    )


def payment_charge_invoice(*, invoice: Invoice, source: Source, now: datetime) -> Payment:
    """Charge what the invoice still owes through the source, off-session (no payer is
    there to authenticate). A decline is a failed payment with `failed_reason`, not an
    error; nothing due or an unchargeable source raise DomainError
    (`invoice_nothing_due`, `source_not_chargeable`). A charge of the invoice left
    reserved by an earlier attempt is completed instead of starting another."""
    payment = _reserved_charge_of(invoice, source) or _charge_invoice(
        invoice=invoice, source=source, now=now
    )
    return charge_reserved(payment, off_session=True, now=now)


@transaction.atomic
def _charge_invoice(*, invoice: Invoice, source: Source, now: datetime) -> Payment:
    customer = invoice.customer
    check_chargeable(source, customer)
    allocated = resolve_allocations([AllocationRequest(invoice)], invoice.currency_id, customer)
    payment = create_payment(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        customer=customer,
        currency=invoice.currency_id,
        amount=allocated.applied,
        shares=allocated.shares,
        source=source,
        now=now,
        subscription_id=invoice.subscription_id,
    )
    return charge(payment, source, off_session=True, now=now)


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
    **fields: Unpack[PaymentFields],
) -> Payment:
    """Record a payment for one or more invoices (or none).

    With a `source` the payment is charged now (on-session: a card that needs the
    payer's authentication leaves it processing). Without one it is a payment received
    outside the gateways (a transfer, cash) and succeeds at once, unless `status` is
    `requires_payment_method` or it has `enable_checkout`: then it waits for `authorize`.
    """
    payment = _payment_create(
        workspace=workspace,
        test_mode=test_mode,
        currency=currency,
        customer=customer,
        allocations=allocations,
        amount=amount,
        source=source,
        status=status,
        now=now,
        **fields,
    )
    return charge_after_commit(payment, off_session=False, now=now)


@transaction.atomic
def _payment_create(
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
    **fields: Unpack[PaymentFields],
) -> Payment:
    if customer is None and allocations:
        customer = allocations[0].invoice.customer
    if currency is None and allocations:
        currency = allocations[0].invoice.currency
    if currency is None:
        currency = customer.currency if customer else None
    if currency is None:
        raise InvalidInput({"currency": ["Name the currency, an invoice or a customer."]})
    if source is not None:
        check_chargeable(source, customer)
    # A payment the payer pays through its checkout has received nothing yet.
    by_checkout = bool(fields.get("enable_checkout")) and source is None
    if by_checkout and status == PaymentStatus.SUCCEEDED:
        raise InvalidInput(
            {"status": ["A payment with enable_checkout is paid through its checkout; "
                        "it cannot be created succeeded."]}
        )  # fmt: skip
    waits = source is not None or status == PaymentStatus.REQUIRES_PAYMENT_METHOD or by_checkout
    if fields.get("payment_date") and waits:
        raise InvalidInput(
            {"payment_date": ["Only a payment received outside the gateways takes a "
                              "payment_date; a charged payment's is when it succeeds."]}
        )  # fmt: skip
    requests = list(allocations)
    if amount is not None and len(requests) == 1 and requests[0].amount is None:
        requests = [replace(requests[0], amount=amount)]
    shares: list[tuple[Invoice, Decimal]] = []
    if requests:
        allocated = resolve_allocations(requests, currency.code, customer)
        shares, total = allocated.shares, payment_total(allocated, amount, currency.code)
    else:
        if amount is None:
            raise InvalidInput({"amount": ["Name the amount or the invoices paid."]})
        total = round_amount(amount, currency.code)
        if total <= 0:
            raise InvalidInput({"amount": ["The amount must be positive."]})
    _check_payment_date(fields.get("payment_date"), workspace, shares, now)
    payment = create_payment(
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
        return charge(payment, source, off_session=False, now=now)
    if status == PaymentStatus.REQUIRES_PAYMENT_METHOD or by_checkout:
        return payment
    return apply_gateway_result(payment, ChargeResult(ChargeOutcome.SUCCEEDED, ""), now)


def _check_payment_date(
    payment_date: datetime | None,
    workspace: Workspace,
    shares: Sequence[tuple[Invoice, Decimal]],
    now: datetime,
) -> None:
    """A payment received outside is dated on a day that has come, in the workspace's
    timezone, and not before any invoice it pays was issued."""
    if payment_date is None:
        return
    day = local_date(payment_date, workspace.timezone)
    today = workspace_today(workspace, now)
    if day > today:
        raise InvalidInput({"payment_date": [f"A payment cannot be dated after today ({today})."]})
    for invoice, _ in shares:
        if day < invoice.date:
            raise InvalidInput(
                {"payment_date": [f"Invoice {invoice.id} is dated {invoice.date}; a payment "
                                  "of it cannot precede it."]}
            )  # fmt: skip


def _check_allocations_still_owed(payment: Payment, invoices: dict[str, Invoice]) -> None:
    """A waiting payment holds nothing (HOLDING_STATUSES), so other payments and credit
    notes may have lowered its invoices' amount due since it was created: before the
    charge, each share must still fit what its locked invoice owes."""
    for allocation in payment.allocations.all():
        invoice = invoices[allocation.invoice_id]
        check_invoice_payable(
            invoice, f"Invoice {invoice.id} is {invoice.status}; it no longer takes payments."
        )
        payable = round_amount(invoice_amount_payable(invoice), invoice.currency_id)
        if allocation.amount > payable:
            raise DomainError(
                "payment_exceeds_amount_due",
                f"Payment {payment.id} would apply {allocation.amount} to invoice {invoice.id}, "
                f"which owes {payable} now; nothing was charged.",
            )


def payment_authorize(*, payment: Payment, source: Source, now: datetime) -> Payment:
    """Charge a payment waiting for a payment method through `source`."""
    payment = _payment_authorize(payment=payment, source=source, now=now)
    return charge_after_commit(payment, off_session=False, now=now)


@transaction.atomic
def _payment_authorize(*, payment: Payment, source: Source, now: datetime) -> Payment:
    invoices = {invoice.pk: invoice for invoice in lock_payment_invoices(payment)}
    payment = lock_payment(payment)
    check_payment_authorizable(payment, invoices.values())
    check_chargeable(source, payment.customer)
    _check_allocations_still_owed(payment, invoices)
    payment.source, payment.gateway = source, source.gateway
    return charge(payment, source, off_session=False, now=now)


def payment_complete_authentication(*, payment: Payment, approved: bool, now: datetime) -> Payment:
    """The payer answered the gateway's extra authentication step. The gateway is asked
    where the charge stands before any lock is taken; the answer is applied once."""
    payment = Payment.objects.get(pk=payment.pk)
    if payment.status != PaymentStatus.PROCESSING or is_reserved(payment):
        raise _not_awaiting_authentication(payment)
    gateway = gateway_for(
        payment.gateway, workspace_id=payment.workspace_id, test_mode=payment.test_mode
    )
    result = gateway.complete_action(reference=payment.gateway_reference, approved=approved)
    return _apply_authentication(payment, result, now)


def _not_awaiting_authentication(payment: Payment) -> DomainError:
    return DomainError(
        "payment_not_awaiting_authentication",
        f"Payment {payment.id} is {payment.status}; nothing to authenticate.",
    )


@transaction.atomic
def _apply_authentication(payment: Payment, result: ChargeResult, now: datetime) -> Payment:
    lock_payment_invoices(payment)
    payment = lock_payment(payment)
    if payment.status != PaymentStatus.PROCESSING or payment.source is None:
        raise _not_awaiting_authentication(payment)
    return apply_gateway_result(payment, result, now)


@transaction.atomic
def payment_cancel(*, payment: Payment, now: datetime) -> Payment:
    lock_payment_invoices(payment)
    payment = lock_payment(payment)
    if is_reserved(payment):
        # Stripe may be charging it this moment: cancelling would lose that charge.
        raise DomainError(
            "payment_invalid_transition",
            f"Payment {payment.id} is being charged by its gateway; it cannot be cancelled.",
        )
    transition_payment(payment, PaymentStatus.CANCELLED)
    close_at_gateway_later(payment)
    payment.save(update_fields=["status", "gateway_close_due", "updated_at"])
    settle_payment_invoices(payment, now)
    record_payment(payment, "cancelled")
    return payment


def payment_refund(
    *,
    payment: Payment,
    amount: Decimal | None = None,
    reason: str = "",
    now: datetime,
    refunded_at_gateway: str = "",
) -> Payment:
    """Refund all or part of a succeeded payment. The credit its invoices' credit notes
    left in the customer's balance, and its own excess beyond what its invoices owed, are
    paid back first (see `_refund_split`), so a refund
    the credit covers reopens no invoice; the rest comes off its allocations last first,
    restoring those invoices' amount due (a paid invoice is finalized again).

    `refunded_at_gateway` records a refund the gateway already made (its reference), e.g.
    one made in Stripe's dashboard: the gateway is not asked to refund again. A remote
    gateway is asked with no transaction open, under a key made of what the payment had
    refunded, so a repeated request refunds once; if recording then fails, Stripe's
    `charge.refunded` event records it."""
    if payment.gateway and not refunded_at_gateway:
        amount, refunded_at_gateway = payment_refund_at_gateway(payment=payment, amount=amount)
    return _record_refund(
        payment=payment, amount=amount, reason=reason, now=now, reference=refunded_at_gateway
    )


def payment_refund_at_gateway(
    *, payment: Payment, amount: Decimal | None, request_key: str = ""
) -> tuple[Decimal, str]:
    """Ask the payment's gateway to refund `amount` (all that is left when None); the
    amount and the gateway's reference, for `payment_refund(refunded_at_gateway=...)`.
    Called with no transaction open. The key sent is the request's Idempotency-Key
    (`request_key`) when it has one, so a request repeated refunds once while two
    requests are two refunds even when both read the payment before either recorded
    its refund; without one it is made of what the payment had refunded."""
    payment = Payment.objects.get(pk=payment.pk)
    amount = _refundable(payment, amount)
    if request_key:  # hashed: a key of up to 255 characters would overflow Stripe's 255
        idempotency_key = f"refund-{payment.id}-request-{sha256(request_key.encode()).hexdigest()}"
    else:
        idempotency_key = f"refund-{payment.id}-{payment.amount_refunded}-{amount}"
    gateway = gateway_for(
        payment.gateway, workspace_id=payment.workspace_id, test_mode=payment.test_mode
    )
    reference = gateway.refund(
        reference=payment.gateway_reference,
        amount=amount,
        currency=payment.currency_id,
        idempotency_key=idempotency_key,
    ).reference
    return amount, reference


def _refundable(payment: Payment, amount: Decimal | None) -> Decimal:
    """The amount to refund (all that is left when None), checked against what is left."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise DomainError(
            "payment_not_refundable",
            f"Payment {payment.id} is {payment.status}; only succeeded payments are refunded.",
        )
    refundable = round_amount(payment.amount - payment.amount_refunded, payment.currency_id)
    if refundable <= 0:
        # Whatever the amount asked for (none means the rest): nothing is left.
        raise DomainError(
            "payment_refunded",
            f"Payment {payment.id} is refunded in full; nothing is left to refund.",
        )
    amount = refundable if amount is None else round_amount(amount, payment.currency_id)
    if amount <= 0:
        raise InvalidInput({"amount": ["The amount must be positive."]})
    if amount > refundable:
        raise DomainError(
            "refund_exceeds_payment",
            f"{amount} exceeds what payment {payment.id} can still refund ({refundable}).",
        )
    return amount


@dataclass(frozen=True)
class RefundShare:
    allocation: PaymentAllocation
    amount: Decimal  # taken off the allocation
    credit: Decimal  # of which paid back out of the invoice's credit (no amount due again)


@dataclass(frozen=True)
class RefundSplit:
    excess: Decimal  # paid back out of the payment's own excess (the customer's credit)
    shares: list[RefundShare]


def _refund_split(payment: Payment, invoices: dict[str, Invoice], amount: Decimal) -> RefundSplit:
    """Split a refund. Credit is given back first, since the customer had that money as
    credit already and nothing becomes due: the payment's own excess, then, in allocation
    order, each share the payment still holds on an invoice with credit (a credit note's).
    What is left comes off the allocations last first, each invoice owing again what it
    gave back."""
    refund_ids = list(payment.refunds.values_list("id", flat=True))
    excess = min(amount, customer_balance_unapplied(source_ids=[payment.id, *refund_ids]))
    allocations = list(payment.allocations.order_by("id"))
    left = {a.pk: a.amount - a.amount_refunded for a in allocations}
    credit = {
        a.pk: min(left[a.pk], invoice_balance_credit(invoices[a.invoice_id])) for a in allocations
    }
    taken = {a.pk: Decimal(0) for a in allocations}
    paid_back = dict(taken)
    remaining = amount - excess
    for allocation in allocations:
        take = min(remaining, credit[allocation.pk])
        if take > 0:
            taken[allocation.pk] += take
            paid_back[allocation.pk] += take
            remaining -= take
    for allocation in reversed(allocations):
        take = min(remaining, left[allocation.pk] - taken[allocation.pk])
        if take > 0:
            taken[allocation.pk] += take
            remaining -= take
    shares = [
        RefundShare(allocation=a, amount=taken[a.pk], credit=paid_back[a.pk])
        for a in allocations
        if taken[a.pk] > 0
    ]
    return RefundSplit(excess=excess, shares=shares)


@transaction.atomic
def _record_refund(
    *, payment: Payment, amount: Decimal | None, reason: str, now: datetime, reference: str
) -> Payment:
    invoices = {invoice.pk: invoice for invoice in lock_payment_invoices(payment)}
    payment = lock_payment(payment)
    if reference and Refund.objects.filter(payment=payment, gateway_reference=reference).exists():
        return payment  # the gateway answered a repeated request with the same refund
    amount = _refundable(payment, amount)
    split = _refund_split(payment, invoices, amount)
    refund = Refund.objects.create(
        payment=payment, amount=amount, reason=reason, gateway_reference=reference, created_at=now
    )
    if split.excess > 0 and payment.customer is not None:
        customer_balance_record(
            customer=payment.customer,
            currency=payment.currency_id,
            amount=-split.excess,
            kind=BalanceTransactionKind.REFUND,
            invoice_id="",
            source_id=refund.id,
            description=f"Refund of payment {payment.id}",
        )
    for share in split.shares:
        PaymentAllocation.objects.filter(pk=share.allocation.pk).update(
            amount_refunded=F("amount_refunded") + share.amount
        )
        if share.credit > 0:
            invoice = invoices[share.allocation.invoice_id]
            customer_balance_record(
                customer=invoice.customer,
                currency=invoice.currency_id,
                amount=-share.credit,
                kind=BalanceTransactionKind.REFUND,
                invoice_id=invoice.id,
                source_id=refund.id,
                description=f"Refund of payment {payment.id}",
            )
    payment.amount_refunded += amount
    payment.save(update_fields=["amount_refunded", "updated_at"])
    settle_payment_invoices(payment, now)
    record_payment(payment, "refunded")
    return payment
