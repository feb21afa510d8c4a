"""Payment links and intents paid on Stripe Checkout when the workspace has Stripe: the
hosted page sends the payer there, and Stripe's `checkout.session.completed` event (not
the redirect back) records the payment.

The Checkout session is created with no transaction open: the link's intent is
committed first. A page opened again meets the intent's session while it is open at
Stripe, and the session's idempotency key is the intent's id (with the session it
replaces and its expiry), so a call retried after a crash finds the same session: a
single-use link keeps its intent while it can be paid. The session expires when the
intent does (a link's intent ends with the link), as near as Stripe allows.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from billing.errors import DomainError
from payments.choices import INTENT_UNPAID_ENDS, IntentStatus
from payments.gateways.registry import stripe_connection
from payments.gateways.stripe_gateway import StripeGateway, StripeUnavailable
from payments.models import Intent, PaymentGateway, PaymentLink
from payments.services.intents import (
    intent_create,
    intent_expire_if_due,
    intent_refuse_if_expired,
    transition_intent,
)
from payments.services.links import LinkUnavailable, check_link_open, payment_link_amount
from payments.services.stripe_customers import stripe_customer_id


def payment_link_checkout_at_gateway(
    *, link: PaymentLink, success_url: str, cancel_url: str, now: datetime
) -> tuple[Intent, str] | None:
    """An intent for the link and the Stripe Checkout page that pays it, or None when
    the workspace has no Stripe connection (the page then takes sandbox cards)."""
    connection = stripe_connection(link.workspace_id, link.test_mode)
    if connection is None:
        return None
    StripeGateway(connection.secret_key).check_amount(payment_link_amount(link), link.currency_id)
    intent = _link_intent(link, now)
    url = _checkout_session(
        connection, intent, success_url.replace("{INTENT}", intent.id), cancel_url, now
    )
    return intent, url


@transaction.atomic
def _link_intent(link: PaymentLink, now: datetime) -> Intent:
    link = PaymentLink.objects.select_for_update(of=("self",)).get(pk=link.pk)
    check_link_open(link, now)
    amount = payment_link_amount(link)
    if amount <= 0:
        raise LinkUnavailable("payment_link_paid", "This payment link is paid.")
    if not link.reusable:
        payable = _payable_intent(link, amount, now)
        if payable is not None:
            return payable
    intent = intent_create(
        workspace=link.workspace,
        test_mode=link.test_mode,
        payment_link=link,
        amount=amount,
        now=now,
        expires_at=link.expires_at,
        return_url=link.return_url,
        save_card_and_make_default=link.save_card_and_make_default,
    )
    if link.invoice_id is not None:
        intent.invoice_id = link.invoice_id
        intent.save(update_fields=["invoice", "updated_at"])
    return intent


def _payable_intent(link: PaymentLink, amount: Decimal, now: datetime) -> Intent | None:
    """The single-use link's intent the payer can still pay: sent to it again, the payer
    meets the same Checkout session (keyed by the intent's id), so one payer is never
    charged twice. An open intent for another amount (the invoice owes less now) is
    cancelled, and a new one is made."""
    waiting = Intent.objects.select_for_update().filter(
        payment_link=link, status=IntentStatus.REQUIRES_PAYMENT_METHOD, payment__isnull=True
    )
    found = None
    for intent in waiting.order_by("-created_at"):
        if intent_expire_if_due(intent, now):
            continue
        if found is None and intent.amount == amount:
            found = intent
        else:
            transition_intent(intent, IntentStatus.CANCELLED, now)
    return found


def intent_checkout_at_gateway(
    *, intent: Intent, success_url: str, cancel_url: str, now: datetime
) -> str | None:
    """The Stripe Checkout page that pays an open intent, or None when the workspace has
    no Stripe connection (the intent's page then takes sandbox cards)."""
    connection = stripe_connection(intent.workspace_id, intent.test_mode)
    if connection is None:
        return None
    intent_refuse_if_expired(intent=intent, now=now)
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or intent.payment_id:
        raise DomainError("intent_invalid_transition", f"Intent {intent.id} is {intent.status}.")
    return _checkout_session(connection, intent, success_url, cancel_url, now)


def _checkout_session(
    connection: PaymentGateway, intent: Intent, success_url: str, cancel_url: str, now: datetime
) -> str:
    """Stripe Checkout in payment mode for the intent's amount; with
    `save_card_and_make_default` the intent's customer is made in Stripe first, and the
    card is kept on it for later off-session charges."""
    gateway = StripeGateway(connection.secret_key)
    customer = intent.customer
    saves = intent.save_card_and_make_default and customer is not None
    try:
        if intent.checkout_session:
            url = gateway.open_checkout_url(intent.checkout_session)
            if url is not None:
                return url
        # A card kept for later needs the customer in Stripe; a one-off payment names it
        # only when it is there already.
        stripe_customer = customer.stripe_id if customer is not None else ""
        if saves and customer is not None:
            stripe_customer = stripe_customer_id(customer, now)
        session, url = gateway.payment_session(
            ends_at=intent.expires_at,
            replaces=intent.checkout_session,
            amount=intent.amount,
            currency=intent.currency_id,
            description=intent.payment_link.description if intent.payment_link else "",
            success_url=success_url,
            cancel_url=cancel_url,
            reference=intent.id,
            stripe_customer=stripe_customer,
            save_card=saves,
        )
    except StripeUnavailable as error:
        raise DomainError("stripe_unavailable", error.message) from None
    _remember_session(intent, session)
    return url


@transaction.atomic
def _remember_session(intent: Intent, session: str) -> None:
    """The intent keeps its Checkout session, to expire it there if the intent ends
    unpaid; one that ended while the session was being made is marked for that now."""
    intent = Intent.objects.select_for_update(of=("self",)).get(pk=intent.pk)
    if intent.checkout_session == session:
        return
    intent.checkout_session = session
    if intent.status in INTENT_UNPAID_ENDS:
        intent.gateway_close_due = True
    intent.save(update_fields=["checkout_session", "gateway_close_due", "updated_at"])
