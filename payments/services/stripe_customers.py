"""Customers kept in step with Stripe, and the cards they save through Stripe Checkout.

The sync runs in a task after the customer's change commits (the outbox hands every
customer event to `payments.tasks.sync_for_event`). Creating the Stripe customer sends
an idempotency key made of our id, so a retried or duplicated task finds the customer
Stripe already made instead of making a second one.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from django.core import signing
from django.db import transaction

from billing.errors import DomainError
from billing.models import Event
from customers.choices import StripeSyncStatus
from customers.models import Customer
from customers.services import customer_record_stripe_sync
from payments.choices import GatewayKind, SourceStatus, SourceUsage
from payments.gateways.registry import stripe_connection
from payments.gateways.stripe_gateway import (
    SavedCard,
    StripeGateway,
    StripeRefused,
    StripeUnavailable,
)
from payments.models import Source
from payments.services.gateways import payment_gateway_record_failure
from payments.services.sources import source_set_default

CUSTOMER_EVENTS = ("customer.created", "customer.updated", "customer.unarchived")


def _stripe_fields(customer: Customer) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": customer.name,
        "metadata": {"billing_id": customer.id, "tax_id": customer.tax_id},
    }
    if customer.email:
        fields["email"] = customer.email
    if customer.phone:
        fields["phone"] = customer.phone
    address = {"country": customer.country_id}
    if customer.address:
        address["line1"] = customer.address
    if customer.zip_code:
        address["postal_code"] = customer.zip_code
    fields["address"] = address
    return fields


def _creation_key(customer: Customer) -> str:
    """The idempotency key of the customer's creation in Stripe. Stripe replays a key's
    first answer for 24 hours, so a customer deleted in Stripe (unlinked, its last sync
    time kept) gets a new key: the next sync creates a new Stripe customer instead of
    replaying the deleted one. Retries of one creation share the key."""
    if customer.stripe_synced_at is None:
        return f"customer-{customer.id}"
    return f"customer-{customer.id}-{customer.stripe_synced_at.timestamp():.6f}"


def customer_sync_to_stripe(*, customer_id: str, now: datetime, on_demand: bool = False) -> str:
    """Create or update the customer in Stripe when the workspace syncs customers, or
    `on_demand` (something of ours needs the customer in Stripe: a card to save on it).
    Answers what happened: synced, skipped or failed (the error is on the customer)."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return "skipped"
    connection = stripe_connection(customer.workspace_id, customer.test_mode)
    if connection is None or not (connection.sync_customers or on_demand):
        return "skipped"
    gateway = StripeGateway(connection.secret_key)
    try:
        stripe_id = gateway.customer_upsert(
            stripe_id=customer.stripe_id,
            fields=_stripe_fields(customer),
            idempotency_key=_creation_key(customer),
        )
    except (StripeUnavailable, StripeRefused, stripe.StripeError) as error:
        message = getattr(error, "message", None) or getattr(error, "user_message", None)
        text = str(message or type(error).__name__)
        if isinstance(error, StripeUnavailable) and error.authentication:
            payment_gateway_record_failure(connection_id=connection.id, error=text)
        customer_record_stripe_sync(
            customer_id=customer.id, status=StripeSyncStatus.FAILED, error=text, now=now
        )
        return "failed"
    customer_record_stripe_sync(
        customer_id=customer.id, status=StripeSyncStatus.SYNCED, stripe_id=stripe_id, now=now
    )
    return "synced"


def stripe_customer_id(customer: Customer, now: datetime) -> str:
    """The customer's Stripe id, creating the Stripe customer first if need be, even
    where syncing customers is off: a card is saved on a Stripe customer."""
    if not customer.stripe_id:
        customer_sync_to_stripe(customer_id=customer.id, now=now, on_demand=True)
        customer.refresh_from_db()
    if not customer.stripe_id:
        raise DomainError(
            "stripe_customer_unavailable",
            f"Customer {customer.id} could not be created in Stripe: "
            f"{customer.stripe_sync_error or 'Stripe is not connected'}.",
        )
    return customer.stripe_id


@dataclass(frozen=True)
class CardSetup:
    """Where the customer saves a card: Stripe Checkout's `url`, or our hosted page for
    the sandbox, opened by `token` (signed; it names the customer and the return page)."""

    gateway: str
    url: str = ""
    token: str = ""


CARD_SETUP_SALT = "payments.card-setup"
CARD_SETUP_MAX_AGE_SECONDS = 3600


def card_setup_start(
    *, customer: Customer, success_url: str, cancel_url: str, now: datetime
) -> CardSetup:
    """A page where the customer saves a card: Stripe Checkout in setup mode when the
    workspace has Stripe, else our hosted page with the sandbox's test cards."""
    connection = stripe_connection(customer.workspace_id, customer.test_mode)
    if connection is None:
        token = signing.dumps(
            {"customer": customer.id, "success_url": success_url, "cancel_url": cancel_url},
            salt=CARD_SETUP_SALT,
        )
        return CardSetup(gateway=GatewayKind.SANDBOX, token=token)
    stripe_customer = stripe_customer_id(customer, now)
    gateway = StripeGateway(connection.secret_key)
    try:
        _, url = gateway.setup_session(
            stripe_customer=stripe_customer,
            success_url=success_url,
            cancel_url=cancel_url,
            reference=customer.id,
        )
    except StripeUnavailable as error:
        raise DomainError("stripe_unavailable", error.message) from None
    return CardSetup(gateway=GatewayKind.STRIPE, url=url)


def card_setup_open(*, token: str) -> tuple[Customer, dict[str, str]] | None:
    """The customer and return pages a hosted setup token names, if it is genuine and
    less than an hour old."""
    try:
        opened = signing.loads(token, salt=CARD_SETUP_SALT, max_age=CARD_SETUP_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    customer = Customer.objects.select_related("workspace").filter(pk=opened["customer"]).first()
    return (customer, opened) if customer is not None else None


@transaction.atomic
def card_save_as_default(*, customer: Customer, card: SavedCard) -> Source:
    """A card the customer saved in Stripe (through Checkout in setup mode, or while
    paying) becomes their default source: its brand, last four digits and expiry; the
    number stays in Stripe. The card was read from Stripe before this transaction, and is
    made the default there after it.

    Stripe reports one setup twice (checkout.session.completed and
    setup_intent.succeeded), in no set order and possibly late: a card already recorded
    is left as it is, so a late report never takes the default back from a card saved
    since, nor revives a card the customer removed."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    source = Source.objects.filter(
        customer=customer, gateway=GatewayKind.STRIPE, gateway_token=card.payment_method
    ).first()
    if source is not None:
        return source
    source = Source.objects.create(
        workspace_id=customer.workspace_id,
        test_mode=customer.test_mode,
        customer=customer,
        gateway=GatewayKind.STRIPE,
        usage=SourceUsage.REUSABLE,
        status=SourceStatus.CHARGEABLE,
        card_brand=card.brand,
        card_last4=card.last4,
        card_exp_month=card.exp_month,
        card_exp_year=card.exp_year,
        gateway_token=card.payment_method,
        gateway_data={"customer": customer.stripe_id},
    )
    return source_set_default(source)


def stripe_sync_for_event(*, event_id: str, now: datetime) -> str:
    """What a committed domain event asks of Stripe: a customer's change is copied."""
    event = Event.objects.filter(pk=event_id).only("type", "object_id").first()
    if event is None or event.type not in CUSTOMER_EVENTS:
        return "skipped"
    return customer_sync_to_stripe(customer_id=event.object_id, now=now)
