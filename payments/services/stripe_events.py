"""Events Stripe sends to `/webhooks/stripe/{workspace_id}/`.

Receiving checks the `Stripe-Signature` header with the library over the raw body
against the connection's webhook secret (300 s tolerance) and stores the event, once
per Stripe event id; a task then processes it. Processing locks the stored event and
does nothing if it was already processed, so a resent event takes effect once. Each
handler only moves a document forward (a payment that succeeded is not failed by a late
`payment_intent.payment_failed`): events that arrive out of order are recorded as
ignored, never applied backwards.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, When

from billing.errors import DomainError, NotFound
from billing.models import Currency, Workspace
from billing.money import round_amount
from billing.queueing import task_queue_or_leave
from customers.choices import StripeSyncStatus
from customers.models import Customer
from customers.services import customer_record_stripe_sync
from payments.choices import (
    INTENT_OPEN_STATUSES,
    GatewayKind,
    InboundEventStatus,
    IntentStatus,
    PaymentStatus,
)
from payments.gateways.base import ChargeOutcome, ChargeResult
from payments.gateways.registry import stripe_connection
from payments.gateways.stripe_gateway import (
    SavedCard,
    StripeGateway,
    StripeUnavailable,
    from_minor_units,
)
from payments.models import Intent, Payment, PaymentGateway, Source, StripeEvent
from payments.services._common import lock_intent, lock_payment, lock_payment_invoices
from payments.services.intents import (
    intent_follow_payment,
    intent_settle_at_gateway,
    transition_intent,
)
from payments.services.payments import apply_gateway_result, payment_refund
from payments.services.stripe_customers import card_save_as_default
from payments.services.stripe_invoices import (
    stripe_invoice_failure_reason,
    stripe_invoice_paid,
    stripe_invoice_payment_failed,
)
from payments.services.stripe_unowed import (
    UNOWED_KEY,
    stripe_payment_record_unowed,
    stripe_unowed_refund_due,
)


def _invalid(detail: str) -> DomainError:
    return DomainError("stripe_signature_invalid", detail, status_code=400)


@transaction.atomic
def stripe_event_receive(*, workspace_id: str, payload: bytes, signature: str) -> StripeEvent:
    """Verify and store one event; queue its processing after commit when it is new."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        raise NotFound("No such workspace.")
    connections = PaymentGateway.objects.filter(
        workspace=workspace, gateway=GatewayKind.STRIPE
    ).exclude(webhook_secret="")
    if not connections:
        raise DomainError(
            "stripe_not_connected",
            "This workspace has no Stripe connection with a webhook secret.",
            status_code=400,
        )
    # The connection (and so the mode) is the one whose secret signed the body: a
    # workspace may connect one Stripe account to live mode and another to test mode.
    connection = next((c for c in connections if _signed_by(c, payload, signature)), None)
    if connection is None:
        raise _invalid("The Stripe-Signature header does not match this body, or it is too old.")
    try:
        body = json.loads(payload)
        stripe_id, event_type = str(body["id"]), str(body["type"])
        created = datetime.fromtimestamp(int(body["created"]), tz=UTC)
    # OverflowError and OSError: a `created` no clock can show (1e30, Infinity).
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        raise _invalid("The body is not a Stripe event.") from None
    # The stored columns' lengths (StripeEvent.stripe_id and .type).
    for name, value, limit in (("id", stripe_id, 255), ("type", event_type, 128)):
        if not value or len(value) > limit:
            raise _invalid(f"The event's {name} is empty or longer than {limit} characters.")
    if body.get("livemode") is not (not connection.test_mode):
        # A test payment must never settle a live document, nor the reverse.
        mode = "test" if connection.test_mode else "live"
        raise DomainError(
            "stripe_event_mode_mismatch",
            f"This event's livemode is {json.dumps(body.get('livemode'))}; the {mode}-mode "
            "connection that signed it takes only its own mode's events.",
            status_code=400,
        )
    return _store(workspace, connection.test_mode, stripe_id, event_type, body, created)


def _signed_by(connection: PaymentGateway, payload: bytes, signature: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, connection.webhook_secret, settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        return False
    return True


def _store(
    workspace: Workspace,
    test_mode: bool,
    stripe_id: str,
    event_type: str,
    body: dict[str, Any],
    created: datetime,
) -> StripeEvent:
    scope = {"workspace": workspace, "test_mode": test_mode, "stripe_id": stripe_id}
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                **scope, type=event_type, payload=body, stripe_created_at=created
            )
    except IntegrityError:
        return StripeEvent.objects.get(**scope)  # a resend: stored and queued already
    transaction.on_commit(lambda: _queue_processing(event.id))
    return event


def _queue_processing(event_id: str) -> None:
    # Not queued while the broker is down: stripe_events_process_received takes it up.
    task_queue_or_leave("payments.tasks.process_stripe_event", kwargs={"event_id": event_id})


def stripe_events_process_received(*, now: datetime, older_than: timedelta,
                                   limit: int = 100) -> int:  # fmt: skip
    """Process events stored but still unprocessed `older_than` after they arrived: their
    task was never queued (the broker was down). Processing is idempotent, so an event
    whose task is merely late is taken up once whichever runs first."""
    received = StripeEvent.objects.filter(
        status=InboundEventStatus.RECEIVED, created_at__lte=now - older_than
    )
    event_ids = list(received.order_by("created_at", "id").values_list("id", flat=True)[:limit])
    for event_id in event_ids:
        stripe_event_process(event_id=event_id, now=now)
    return len(event_ids)


def stripe_event_process(*, event_id: str, now: datetime) -> StripeEvent:
    """Apply a stored event once. What it needs from Stripe (the card a checkout saved, a
    failed attempt's decline code) is read before the transaction, and a saved card is
    made the customer's default in Stripe after it: no Stripe call waits inside the
    transaction."""
    event = StripeEvent.objects.get(pk=event_id)
    if event.status in (InboundEventStatus.PROCESSED, InboundEventStatus.IGNORED):
        return event
    card: SavedCard | None = None
    try:
        card = _card_to_save(event)
    except Exception as error:  # recorded; the admin can re-process it
        return _record_failure(event_id, error, now)
    decline = None
    if event.type == "invoice.payment_failed":
        decline = stripe_invoice_failure_reason(event)
    event = _apply(event_id, card, decline, now)
    if card is not None and event.status == InboundEventStatus.PROCESSED:
        _make_default_in_stripe(event, card)
    _refund_unowed(event, now)
    return event


def _refund_unowed(event: StripeEvent, now: datetime) -> None:
    """Refund at Stripe what this (or an earlier) event recorded as not owed; noted on
    the event."""
    notes = stripe_unowed_refund_due(
        workspace_id=event.workspace_id, test_mode=event.test_mode, now=now
    )
    if notes:
        event.outcome = "; ".join([event.outcome, *notes])[:512]
        StripeEvent.objects.filter(pk=event.pk).update(outcome=event.outcome)


@transaction.atomic
def _apply(
    event_id: str, card: SavedCard | None, decline: str | Exception | None, now: datetime
) -> StripeEvent:
    event = StripeEvent.objects.select_for_update().get(pk=event_id)
    if event.status in (InboundEventStatus.PROCESSED, InboundEventStatus.IGNORED):
        return event
    event.attempts += 1
    try:
        with transaction.atomic():
            applied, outcome = _handle(event, card, decline, now)
    except Exception as error:  # recorded; the admin can re-process it
        event.status, event.outcome = InboundEventStatus.FAILED, f"{type(error).__name__}: {error}"
    else:
        event.status = InboundEventStatus.PROCESSED if applied else InboundEventStatus.IGNORED
        event.outcome = outcome
    event.outcome = event.outcome[:512]
    event.processed_at = now
    event.save(update_fields=["status", "outcome", "attempts", "processed_at", "updated_at"])
    return event


@transaction.atomic
def _record_failure(event_id: str, error: Exception, now: datetime) -> StripeEvent:
    event = StripeEvent.objects.select_for_update().get(pk=event_id)
    event.attempts += 1
    event.status = InboundEventStatus.FAILED
    event.outcome = f"{type(error).__name__}: {error}"[:512]
    event.processed_at = now
    event.save(update_fields=["status", "outcome", "attempts", "processed_at", "updated_at"])
    return event


def stripe_event_reprocess(*, event: StripeEvent, now: datetime) -> StripeEvent:
    """Run a stored event's handler again (the admin's action), e.g. after a fix."""
    StripeEvent.objects.filter(pk=event.pk).update(status=InboundEventStatus.RECEIVED)
    return stripe_event_process(event_id=event.pk, now=now)


# Handlers: (event, now) → (applied, what happened).

Outcome = tuple[bool, str]


def _object(event: StripeEvent) -> dict[str, Any]:
    return dict(event.payload["data"]["object"])


def _gateway(event: StripeEvent) -> StripeGateway:
    connection = stripe_connection(event.workspace_id, event.test_mode)
    if connection is None:
        raise DomainError("stripe_not_connected", "The Stripe connection is gone or disabled.")
    return StripeGateway(connection.secret_key)


def _payment_of(event: StripeEvent, intent: dict[str, Any]) -> Payment | None:
    """Our payment behind a Stripe PaymentIntent: the one that records it, or the
    reserved one its metadata names (our answer to the charge was lost)."""
    scope = {
        "workspace_id": event.workspace_id,
        "test_mode": event.test_mode,
        "gateway": GatewayKind.STRIPE,
    }
    payment = None
    if intent["id"]:
        # A charge given up on and then taken by Stripe is recorded again, succeeded:
        # that record is the one refunds and later events apply to.
        payment = (
            Payment.objects.filter(**scope, gateway_reference=intent["id"])
            .order_by(Case(When(status=PaymentStatus.SUCCEEDED, then=0), default=1), "id")
            .first()
        )
    ours = (intent.get("metadata") or {}).get("payment")
    if payment is None and ours:
        payment = Payment.objects.filter(**scope, pk=ours, gateway_reference="").first()
    return payment


def _settle_payment(event: StripeEvent, now: datetime, result: ChargeResult) -> Outcome:
    payment = _payment_of(event, _object(event))
    if payment is None:
        return False, f"no payment charged through {result.reference}"
    lock_payment_invoices(payment)
    payment = lock_payment(payment)
    if payment.status in _GIVEN_UP and result.outcome == ChargeOutcome.SUCCEEDED:
        return _given_up_but_taken(event, payment, result, now)
    if payment.status != PaymentStatus.PROCESSING:
        # Already settled (by our own call or an earlier event): a late or repeated
        # event never moves it back.
        return False, f"payment {payment.id} is already {payment.status}"
    _apply_to_processing(payment, result, now)
    return True, f"payment {payment.id} {payment.status}"


def _apply_to_processing(payment: Payment, result: ChargeResult, now: datetime) -> None:
    """Settle a (locked) processing payment as Stripe reports it; its intent follows."""
    apply_gateway_result(payment, result, now)
    intent = Intent.objects.filter(payment=payment).first()
    if intent is not None:
        intent_follow_payment(intent=intent, now=now)


# Payments we stopped waiting for (the payer's authentication expired, or it was
# cancelled) while Stripe's PaymentIntent could still succeed.
_GIVEN_UP = (PaymentStatus.INCOMPLETE, PaymentStatus.CANCELLED)


def _given_up_but_taken(
    event: StripeEvent, payment: Payment, result: ChargeResult, now: datetime
) -> Outcome:
    """Stripe took a charge we had given up on: the money is recorded as a new payment
    (what its invoice still owes applied, the rest refunded), never dropped."""
    allocation = payment.allocations.select_related("invoice").first()
    recorded = stripe_payment_record_unowed(
        workspace_id=event.workspace_id,
        test_mode=event.test_mode,
        customer=payment.customer,
        currency=payment.currency_id,
        amount=payment.amount,
        reference=result.reference,
        invoice=allocation.invoice if allocation is not None else None,
        description=f"Stripe charge of payment {payment.id}, taken after it was {payment.status}",
        now=now,
        metadata={"stripe_payment_of": payment.id},
    )
    return True, _unowed_outcome(recorded, f"payment {payment.id} was {payment.status}")


def _unowed_outcome(payment: Payment, why: str) -> str:
    unowed = payment.metadata.get(UNOWED_KEY)
    refund = f"; {unowed} not owed to refund" if unowed else ""
    return f"{why}: payment {payment.id} of {payment.amount} recorded{refund}"


def _intent_succeeded(event: StripeEvent, card: SavedCard | None, now: datetime) -> Outcome:
    """Our own charge settled, or a Checkout payment of one of our intents (Stripe may
    send this before checkout.session.completed)."""
    obj = _object(event)
    if _payment_of(event, obj) is None and (obj.get("metadata") or {}).get("intent"):
        charged = (obj.get("amount"), obj.get("currency"))
        return _checkout_intent_paid(
            event, obj["metadata"]["intent"], obj["id"], charged, card, now
        )
    return _settle_payment(event, now, ChargeResult(ChargeOutcome.SUCCEEDED, obj["id"]))


def _intent_failed(event: StripeEvent, now: datetime) -> Outcome:
    intent = _object(event)
    error = intent.get("last_payment_error") or {}
    reason = error.get("code") or "payment_failed"
    return _settle_payment(event, now, ChargeResult(ChargeOutcome.FAILED, intent["id"], reason))


def _intent_requires_action(event: StripeEvent, now: datetime) -> Outcome:
    payment = _payment_of(event, _object(event))
    if payment is None:
        return False, "no payment for this payment intent"
    return False, f"payment {payment.id} waits for the payer's authentication"


def _charge_refunded(event: StripeEvent, now: datetime) -> Outcome:
    """A refund made in Stripe (its dashboard, or ours, which Stripe reports back): only
    what Stripe refunded beyond what we recorded is added, so ours is not counted twice."""
    charge = _object(event)
    # A payment is known by its PaymentIntent, or by its charge when Stripe took it
    # without one (an invoice paid by a charge).
    payment = _payment_of(event, {"id": str(charge.get("payment_intent") or "")}) or _payment_of(
        event, {"id": str(charge["id"])}
    )
    if payment is None:
        return False, "no payment for this charge"
    lock_payment_invoices(payment)
    payment = lock_payment(payment)
    if payment.status == PaymentStatus.PROCESSING and charge.get("status") == "succeeded":
        # Stripe does not send events in order: this refund may come before
        # payment_intent.succeeded. A refunded charge was taken, so the payment succeeded.
        reference = payment.gateway_reference or str(charge.get("payment_intent") or charge["id"])
        _apply_to_processing(payment, ChargeResult(ChargeOutcome.SUCCEEDED, reference), now)
    in_stripe = from_minor_units(int(charge["amount_refunded"]), payment.currency_id)
    missing = in_stripe - payment.amount_refunded
    if missing <= 0:
        return False, f"payment {payment.id} already records {payment.amount_refunded} refunded"
    refunds = (charge.get("refunds") or {}).get("data") or [{}]
    payment_refund(
        payment=payment,
        amount=missing,
        reason="Refunded in Stripe",
        now=now,
        refunded_at_gateway=str(refunds[0].get("id") or charge["id"]),
    )
    return True, f"payment {payment.id}: {missing} refunded in Stripe recorded"


def _customer_of(event: StripeEvent, obj: dict[str, Any]) -> Customer | None:
    scope = {"workspace_id": event.workspace_id, "test_mode": event.test_mode}
    ours = (obj.get("metadata") or {}).get("customer") or obj.get("client_reference_id")
    if ours:
        return Customer.objects.filter(pk=ours, **scope).first()
    if obj.get("customer"):
        return Customer.objects.filter(stripe_id=obj["customer"], **scope).first()
    return None


def _save_card(event: StripeEvent, obj: dict[str, Any], card: SavedCard | None) -> Outcome:
    customer = _customer_of(event, obj)
    if customer is None:
        return False, "no customer of ours for this setup"
    if card is None:
        return False, "Stripe named no card for this setup"
    source = card_save_as_default(customer=customer, card=card)
    if not source.default:
        return False, f"source {source.id} records this card already"
    return True, f"source {source.id} is the default of {customer.id}"


def _checkout_completed(event: StripeEvent, card: SavedCard | None, now: datetime) -> Outcome:
    session = _object(event)
    if session.get("mode") == "setup" and session.get("setup_intent"):
        return _save_card(event, session, card)
    if session.get("mode") == "payment":
        if session.get("payment_status") != "paid":
            return False, f"checkout is {session.get('payment_status')}"
        ours = (session.get("metadata") or {}).get("intent", "")
        charged = (session.get("amount_total"), session.get("currency"))
        payment_intent = session.get("payment_intent") or ""
        return _checkout_intent_paid(event, ours, payment_intent, charged, card, now)
    return False, f"checkout in {session.get('mode')} mode is not handled"


def _checkout_intent_paid(
    event: StripeEvent,
    intent_id: str,
    payment_intent: str,
    charged: tuple[Any, Any],
    card: SavedCard | None,
    now: datetime,
) -> Outcome:
    """One of our intents paid on Stripe Checkout: the payment is recorded once, and the
    card it was paid with becomes the customer's default when the intent asked so. What
    Stripe charged other than the intent's amount (another amount or currency) does not
    settle the intent: it is recorded as money not owed as charged (what the invoice
    still owes applied, the rest refunded)."""
    intent = Intent.objects.filter(
        pk=intent_id, workspace_id=event.workspace_id, test_mode=event.test_mode
    ).first()
    if intent is None:
        return False, "no intent of ours for this checkout"
    recorded = _payment_of(event, {"id": payment_intent})
    if recorded is not None and recorded.status == PaymentStatus.SUCCEEDED:
        return False, f"payment {recorded.id} records {payment_intent} already"
    amount, currency = _charged(intent, *charged)
    ours = round_amount(intent.amount, intent.currency_id)
    if (amount, currency) != (ours, intent.currency_id):
        why = f"is for {ours} {intent.currency_id} but Stripe charged {amount} {currency}"
        return _intent_paid_unowed(event, intent, payment_intent, now, why, (amount, currency))
    if intent.payment_id is not None or intent.status not in INTENT_OPEN_STATUSES:
        return _intent_paid_unowed(event, intent, payment_intent, now, f"was {intent.status}")
    try:
        with transaction.atomic():
            settled = intent_settle_at_gateway(
                intent=intent, gateway=GatewayKind.STRIPE, reference=payment_intent, now=now
            )
    except DomainError as refused:
        # What the intent collects is no longer owed (its invoice was paid or lowered
        # meanwhile, its order invoiced): the money Stripe took is recorded and refunded.
        return _intent_paid_unowed(event, intent, payment_intent, now, refused.detail)
    if card is not None and settled.save_card_and_make_default and settled.customer is not None:
        source = card_save_as_default(customer=settled.customer, card=card)
        return True, f"intent {settled.id} {settled.status}; source {source.id} is the default"
    return True, f"intent {settled.id} {settled.status}"


def _intent_paid_unowed(
    event: StripeEvent,
    intent: Intent,
    payment_intent: str,
    now: datetime,
    why: str,
    charged: tuple[Decimal, str] | None = None,
) -> Outcome:
    """An intent paid on Checkout that can no longer be settled as it was: what Stripe
    charged (`charged`, else the intent's amount) is recorded, what the intent's invoice
    still owes applied, the rest refunded. An intent still open is cancelled (its payment
    is the one recorded here)."""
    amount, currency = charged or (intent.amount, intent.currency_id)
    description = f"Stripe Checkout of intent {intent.id}"
    if charged is not None:
        description += f", which {why}"
    recorded = stripe_payment_record_unowed(
        workspace_id=event.workspace_id,
        test_mode=event.test_mode,
        customer=intent.customer,
        currency=currency,
        amount=amount,
        reference=payment_intent,
        invoice=intent.invoice,
        description=description,
        now=now,
        metadata={"intent": intent.id},
    )
    intent = lock_intent(intent)
    if intent.status in INTENT_OPEN_STATUSES and intent.payment_id is None:
        transition_intent(intent, IntentStatus.CANCELLED, now)
    return True, _unowed_outcome(recorded, f"intent {intent.id} {why}")


def _charged(intent: Intent, amount: Any, currency: Any) -> tuple[Decimal, str]:
    """What Stripe says it charged for the intent, in our units; an amount or currency
    that cannot be read (or that we do not know) fails the event, to be looked at."""
    code = str(currency).upper()
    try:
        value = from_minor_units(int(amount), code)
    except (TypeError, ValueError, DomainError):
        value = None
    if value is None or value <= 0 or not Currency.objects.filter(pk=code).exists():
        raise DomainError(
            "stripe_amount_unreadable",
            f"Stripe charged {amount} (minor units) {code} for intent {intent.id}, which "
            "cannot be recorded; the intent is not settled.",
        )
    return value, code


def _setup_succeeded(event: StripeEvent, card: SavedCard | None, now: datetime) -> Outcome:
    return _save_card(event, _object(event), card)


def _card_to_save(event: StripeEvent) -> SavedCard | None:
    """The card an event saves, read from Stripe (before any transaction): a setup's,
    or a Checkout payment's whose intent asked to save it."""
    obj = _object(event)
    if event.type == "setup_intent.succeeded":
        return _gateway(event).saved_card(setup_intent=obj["id"])
    if event.type == "checkout.session.completed" and obj.get("mode") == "setup":
        if not obj.get("setup_intent"):
            return None
        return _gateway(event).saved_card(setup_intent=obj["setup_intent"])
    if event.type == "checkout.session.completed" and obj.get("payment_intent"):
        intent_id, payment_intent = (obj.get("metadata") or {}).get("intent"), obj["payment_intent"]
    elif event.type == "payment_intent.succeeded":
        intent_id, payment_intent = (obj.get("metadata") or {}).get("intent"), obj["id"]
    else:
        return None
    saves = Intent.objects.filter(
        pk=intent_id or "",
        workspace_id=event.workspace_id,
        test_mode=event.test_mode,
        save_card_and_make_default=True,
        customer__isnull=False,
    ).exists()
    return _gateway(event).card_of_payment(payment_intent=payment_intent) if saves else None


def _make_default_in_stripe(event: StripeEvent, card: SavedCard) -> None:
    """The saved card is the customer's default in Stripe too (its invoices use it). A
    failure here is noted on the event; our default source is already recorded."""
    source = (
        Source.objects.filter(
            workspace_id=event.workspace_id,
            test_mode=event.test_mode,
            gateway=GatewayKind.STRIPE,
            gateway_token=card.payment_method,
            default=True,
        )
        .select_related("customer")
        .first()
    )
    if source is None or source.customer is None or not source.customer.stripe_id:
        return
    try:
        _gateway(event).make_default(
            stripe_customer=source.customer.stripe_id, payment_method=card.payment_method
        )
    except (StripeUnavailable, stripe.StripeError, DomainError) as error:
        note = f"{event.outcome}; not made the default in Stripe: {type(error).__name__}"
        StripeEvent.objects.filter(pk=event.pk).update(outcome=note[:512])


def _customer_deleted(event: StripeEvent, now: datetime) -> Outcome:
    obj = _object(event)
    customer = _customer_of(event, {"customer": obj["id"]})
    if customer is None:
        return False, "no customer of ours has this Stripe id"
    Customer.objects.filter(pk=customer.pk).update(stripe_id="")
    customer_record_stripe_sync(
        customer_id=customer.id, status=StripeSyncStatus.NOT_SYNCED, now=now,
        error="Deleted in Stripe.",
    )  # fmt: skip
    return True, f"customer {customer.id} is no longer in Stripe"


_HANDLERS: dict[str, Callable[[StripeEvent, datetime], Outcome]] = {
    "payment_intent.payment_failed": _intent_failed,
    "payment_intent.requires_action": _intent_requires_action,
    "customer.deleted": _customer_deleted,
    "charge.refunded": _charge_refunded,
    "invoice.paid": stripe_invoice_paid,
}

# Handlers of events that may save a card: they also take the card read from Stripe.
_CARD_HANDLERS: dict[str, Callable[[StripeEvent, SavedCard | None, datetime], Outcome]] = {
    "payment_intent.succeeded": _intent_succeeded,
    "checkout.session.completed": _checkout_completed,
    "setup_intent.succeeded": _setup_succeeded,
}


def _handle(
    event: StripeEvent, card: SavedCard | None, decline: str | Exception | None, now: datetime
) -> Outcome:
    if event.type == "invoice.payment_failed":
        return stripe_invoice_payment_failed(event, now, decline or "payment_failed")
    if event.type in _CARD_HANDLERS:
        return _CARD_HANDLERS[event.type](event, card, now)
    handler = _HANDLERS.get(event.type)
    return handler(event, now) if handler else (False, "type not handled")
