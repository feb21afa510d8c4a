"""The Stripe gateway, through the official `stripe` library.

Cards reach Stripe only through Stripe's own pages (Checkout): this server never sees
a number, and a source's token is the Stripe PaymentMethod id. Every write sends an
idempotency key, so a retried task or request never creates a second object in Stripe.
Amounts go to Stripe in the currency's minor unit.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings

from billing.errors import DomainError
from billing.money import minor_units
from payments.gateways.base import (
    CardInput,
    CardRejected,
    ChargeOutcome,
    ChargeResult,
    Gateway,
    RefundResult,
    TokenizedCard,
)

# Where Stripe counts a currency's decimals otherwise than ISO 4217 (billing.money):
# ISK is sent as if it had two decimals, MGA as if it had none.
_STRIPE_DECIMALS = {"ISK": 2, "MGA": 0}
# The only currencies with three decimals Stripe takes: amounts in thousandths.
_STRIPE_THREE_DECIMALS = {"BHD", "JOD", "KWD", "OMR", "TND"}


class StripeUnavailable(Exception):
    """Stripe refused the key or could not be reached; `message` is safe to show."""

    def __init__(self, message: str, *, authentication: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.authentication = authentication


class StripeRefused(DomainError):
    """Stripe answered a call with a refusal (a declined card, a request it found
    invalid, a missing object): a 409 with Stripe's message; `error` is Stripe's."""

    def __init__(self, error: stripe.StripeError) -> None:
        super().__init__(
            "stripe_refused", f"Stripe refused: {error.user_message or type(error).__name__}."
        )
        self.error = error
        self.message = self.detail


def stripe_decimals(currency: str) -> int:
    """The decimals of `currency` in Stripe's amounts; a currency Stripe does not take is
    refused here, before any call."""
    code = currency.upper()
    decimals = _STRIPE_DECIMALS.get(code, minor_units(code))
    if decimals > 3 or (decimals == 3 and code not in _STRIPE_THREE_DECIMALS):
        raise DomainError(
            "stripe_currency_unsupported",
            f"Stripe does not take payments in {code}.",
            status_code=400,
        )
    return decimals


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` in Stripe's smallest unit of `currency`; an amount finer than that unit
    is refused, never rounded into another amount."""
    minor = Decimal(amount).scaleb(stripe_decimals(currency))
    if minor != minor.to_integral_value():
        raise _unrepresentable(amount, currency)
    return int(minor)


def to_charge_units(amount: Decimal, currency: str) -> int:
    """An amount Stripe charges or refunds: in a three-decimal currency Stripe requires
    the last digit 0 (whole hundredths), so 10.555 KWD cannot be charged."""
    minor = to_minor_units(amount, currency)
    if stripe_decimals(currency) == 3 and minor % 10:
        raise _unrepresentable(amount, currency)
    return minor


def _unrepresentable(amount: Decimal, currency: str) -> DomainError:
    decimals = stripe_decimals(currency)
    step = Decimal(10 if decimals == 3 else 1).scaleb(-decimals)
    return DomainError(
        "stripe_amount_unsupported",
        f"Stripe cannot charge {amount} {currency.upper()}: its {currency.upper()} amounts "
        f"are multiples of {step}.",
        status_code=400,
    )


def from_minor_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-stripe_decimals(currency))


def stripe_client(secret_key: str) -> stripe.StripeClient:
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
    return stripe.StripeClient(
        secret_key,
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _unavailable(error: stripe.StripeError) -> StripeUnavailable:
    if isinstance(error, stripe.AuthenticationError):
        return StripeUnavailable(
            "Stripe refused the secret key: check that it is a valid secret key "
            "(sk_live_… or sk_test_…) of your Stripe account.",
            authentication=True,
        )
    if isinstance(error, stripe.APIConnectionError):
        return StripeUnavailable("Stripe could not be reached; try again.")
    return StripeUnavailable(f"Stripe answered: {error.user_message or type(error).__name__}.")


# Stripe takes a Checkout session's `expires_at` 30 minutes to 24 hours after the
# session's creation, on Stripe's clock: a minute's margin each side for the request's
# time and clock skew.
SESSION_SHORTEST = timedelta(minutes=31)
SESSION_LONGEST = timedelta(hours=23, minutes=59)


def checkout_session_end(ends_at: datetime | None, stripe_now: datetime) -> int:
    """The `expires_at` (a Unix time) of a Checkout session for something payable until
    `ends_at` (None: no end): that time, or the nearest Stripe allows. A session never
    outlives what it pays by more than Stripe's shortest window, and the expiry sweep
    closes it then. Bounds are whole minutes, so pages opened in the same minute send
    the same request."""
    minute = stripe_now.replace(second=0, microsecond=0)
    latest = minute + SESSION_LONGEST
    earliest = minute + timedelta(minutes=1) + SESSION_SHORTEST
    if ends_at is None or ends_at > latest:
        return int(latest.timestamp())
    return int(max(ends_at, earliest).timestamp())


def _redirect_url(intent: Any) -> str:
    """The page of a PaymentIntent's `next_action` the payer is sent to, if it has one."""
    action = intent.to_dict().get("next_action") or {}
    return str((action.get("redirect_to_url") or {}).get("url") or "")


@dataclass(frozen=True)
class SavedCard:
    payment_method: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class StripeGateway(Gateway):
    kind = "stripe"
    remote = True

    def __init__(self, secret_key: str) -> None:
        self.client = stripe_client(secret_key)

    def call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """One Stripe call; a refused key or an unreachable Stripe is StripeUnavailable,
        any other Stripe error is StripeRefused (409 stripe_refused), never a 500."""
        try:
            return method(*args, **kwargs)
        except (stripe.AuthenticationError, stripe.APIConnectionError) as error:
            raise _unavailable(error) from None
        except stripe.StripeError as error:
            raise StripeRefused(error) from None

    def check_amount(self, amount: Decimal, currency: str) -> None:
        to_charge_units(amount, currency)

    def verify_credentials(self) -> None:
        try:
            self.call(self.client.v1.balance.retrieve)
        except StripeRefused as refused:
            raise _unavailable(refused.error) from None

    def tokenize(self, card: CardInput, *, today_year: int, today_month: int) -> TokenizedCard:
        raise CardRejected(
            "number",
            "Card numbers are never sent to this server for Stripe: save the card through "
            "Stripe Checkout (POST /customers/{id}/setup_intent/).",
        )

    def charge(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        off_session: bool,
        reference: str,
        return_url: str = "",
    ) -> ChargeResult:
        method = self.call(self.client.v1.payment_methods.retrieve, token)
        params: dict[str, Any] = {
            "amount": to_charge_units(amount, currency),
            "currency": currency.lower(),
            "customer": method.customer,
            "payment_method": token,
            "confirm": True,
            "metadata": {"payment": reference},
        }
        if off_session:
            params["off_session"] = True
        elif return_url:
            # 3-D Secure is then a page the payer is sent to (next_action redirect_to_url)
            # rather than a step only Stripe.js can run.
            params["return_url"] = return_url
        try:
            intent = self.call(
                self.client.v1.payment_intents.create,
                params=params,
                options={"idempotency_key": f"charge-{reference}"},
            )
        except StripeRefused as refused:
            if not isinstance(refused.error, stripe.CardError):
                raise
            error = refused.error
            json_body: Any = error.json_body or {}
            body: dict[str, Any] = dict(json_body.get("error") or {})
            declined_intent: dict[str, Any] = dict(body.get("payment_intent") or {})
            intent_id = str(declined_intent.get("id", ""))
            return ChargeResult(ChargeOutcome.FAILED, intent_id, error.code or "card_declined")
        return self._result(intent, off_session=off_session)

    def _result(self, intent: Any, *, off_session: bool) -> ChargeResult:
        if intent.status == "succeeded":
            return ChargeResult(ChargeOutcome.SUCCEEDED, intent.id)
        if intent.status in ("requires_action", "requires_confirmation"):
            if off_session:
                # No payer is there to authenticate: give the intent up, as the sandbox does.
                self.call(self.client.v1.payment_intents.cancel, intent.id)
                return ChargeResult(ChargeOutcome.FAILED, intent.id, "authentication_required")
            return ChargeResult(
                ChargeOutcome.REQUIRES_ACTION, intent.id, action_url=_redirect_url(intent)
            )
        error = intent.last_payment_error or {}
        return ChargeResult(ChargeOutcome.FAILED, intent.id, error.get("code") or intent.status)

    def complete_action(self, *, reference: str, approved: bool) -> ChargeResult:
        """The payer authenticates on Stripe's page, not here: read where the intent is.
        A payer who gives up has the PaymentIntent cancelled at Stripe, so the payment
        recorded as failed cannot be taken there afterwards (unless it succeeded first)."""
        intent = self.call(self.client.v1.payment_intents.retrieve, reference)
        if not approved and intent.status != "succeeded":
            try:
                self.call(self.client.v1.payment_intents.cancel, reference)
            except StripeRefused as refused:
                if not isinstance(refused.error, stripe.InvalidRequestError):
                    raise
                # Not cancellable: completed meanwhile, or closed already.
                intent = self.call(self.client.v1.payment_intents.retrieve, reference)
                if intent.status == "succeeded":
                    return self._result(intent, off_session=False)
            return ChargeResult(ChargeOutcome.FAILED, reference, "authentication_failed")
        return self._result(intent, off_session=False)

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str = ""
    ) -> RefundResult:
        options: dict[str, Any] = {"idempotency_key": idempotency_key} if idempotency_key else {}
        # A payment Stripe took without a PaymentIntent (an invoice paid by a charge) is
        # known by its charge, which a refund names instead.
        target = "charge" if reference.startswith("ch_") else "payment_intent"
        refund = self.call(
            self.client.v1.refunds.create,
            params={target: reference, "amount": to_charge_units(amount, currency)},
            options=options,
        )
        return RefundResult(reference=refund.id)

    # Stripe-only calls: customers and Checkout.

    def customer_upsert(
        self, *, stripe_id: str, fields: dict[str, Any], idempotency_key: str
    ) -> str:
        if stripe_id:
            self.call(self.client.v1.customers.update, stripe_id, params=fields)
            return stripe_id
        created = self.call(
            self.client.v1.customers.create,
            params=fields,
            options={"idempotency_key": idempotency_key},
        )
        return str(created.id)

    def setup_session(
        self, *, stripe_customer: str, success_url: str, cancel_url: str, reference: str
    ) -> tuple[str, str]:
        """A Checkout session in setup mode: (its id, the page to send the payer to)."""
        session = self.call(
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "setup",
                "customer": stripe_customer,
                "payment_method_types": ["card"],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "client_reference_id": reference,
                "metadata": {"customer": reference},
            },
        )
        return str(session.id), str(session.url)

    def payment_session(
        self,
        *,
        amount: Decimal,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        reference: str,
        ends_at: datetime | None,
        replaces: str = "",
        stripe_customer: str = "",
        save_card: bool = False,
    ) -> tuple[str, str]:
        """A Checkout session in payment mode for `reference` (our intent), closing at
        `ends_at` or as near as Stripe allows: (its id, the page to send the payer to).
        The payment is ours once Stripe's event says so. With `save_card` the card is
        kept on the customer for later off-session charges. `replaces` names the
        intent's session that closed, so the new one has its own idempotency key."""
        expires_at = checkout_session_end(ends_at, datetime.now(UTC))
        payment_intent_data: dict[str, Any] = {"metadata": {"intent": reference}}
        if save_card:
            payment_intent_data["setup_future_usage"] = "off_session"
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": to_charge_units(amount, currency),
                        "product_data": {"name": description or reference},
                    },
                    "quantity": 1,
                }
            ],
            "payment_intent_data": payment_intent_data,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": reference,
            "metadata": {"intent": reference},
            "expires_at": expires_at,
        }
        if stripe_customer:
            params["customer"] = stripe_customer
        after = f"-after-{replaces}" if replaces else ""
        session = self.call(
            self.client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": f"checkout-{reference}{after}-{expires_at}"},
        )
        return str(session.id), str(session.url)

    def open_checkout_url(self, session: str) -> str | None:
        """The page of a Checkout session the payer can still pay on, or None when it
        is closed (completed or expired) or unknown to this Stripe account."""
        try:
            found = self.call(self.client.v1.checkout.sessions.retrieve, session)
        except StripeRefused as refused:
            if isinstance(refused.error, stripe.InvalidRequestError):
                return None
            raise _unavailable(refused.error) from None
        return str(found.url) if found.status == "open" else None

    def cancel_payment_intent(self, payment_intent: str) -> None:
        """Cancel a PaymentIntent the payer could still complete (one waiting for 3-D
        Secure), so Stripe takes no money for a payment we gave up on."""
        self._close(self.client.v1.payment_intents.cancel, payment_intent)

    def expire_checkout_session(self, session: str) -> None:
        """Expire an open Checkout session: the payer can no longer pay on it."""
        self._close(self.client.v1.checkout.sessions.expire, session)

    def _close(self, method: Any, object_id: str) -> None:
        """Stripe refusing a request as invalid means the object can no longer be closed
        (it was completed, paid or closed already, or it is unknown): nothing is left to
        do here, and money it took arrives as an event. Anything else (Stripe unreachable,
        the key refused, rate limits, Stripe's own errors) is StripeUnavailable: try
        again later."""
        try:
            self.call(method, object_id)
        except StripeRefused as refused:
            if not isinstance(refused.error, stripe.InvalidRequestError):
                raise _unavailable(refused.error) from None

    def saved_card(self, *, setup_intent: str) -> SavedCard:
        intent = self.call(self.client.v1.setup_intents.retrieve, setup_intent)
        return self._card(intent.payment_method)

    def card_of_payment(self, *, payment_intent: str) -> SavedCard:
        """The card a payment was made with (saved on the customer by Checkout's
        `setup_future_usage`)."""
        intent = self.call(self.client.v1.payment_intents.retrieve, payment_intent)
        return self._card(intent.payment_method)

    def _card(self, payment_method: str) -> SavedCard:
        method = self.call(self.client.v1.payment_methods.retrieve, payment_method)
        card = method.card
        return SavedCard(
            payment_method=method.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
        )

    def make_default(self, *, stripe_customer: str, payment_method: str) -> None:
        self.call(
            self.client.v1.customers.update,
            stripe_customer,
            params={"invoice_settings": {"default_payment_method": payment_method}},
        )
