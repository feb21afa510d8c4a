"""Payments, their allocations to invoices and refunds; card sources (gateway tokens only);
gateway connections; hosted payment links; and payment intents."""

import secrets
from typing import TypeVar

from django.db import models
from django.db.models import F, Q

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field
from billing.json_fields import ObjectJSONField
from billing.models import TenantModel, money_field
from customers.models import Customer
from invoices.models import Invoice, Order
from payments.choices import (
    ConnectionStatus,
    GatewayKind,
    InboundEventStatus,
    IntentStatus,
    PaymentStatus,
    SourceStatus,
    SourceUsage,
)

_Referenced = TypeVar("_Referenced", bound=models.Model)


def _optional_reference(
    to: type[_Referenced], related_name: str
) -> "models.ForeignKey[_Referenced | None, _Referenced | None]":
    """A row this one may point to, which cannot be deleted while it does."""
    return models.ForeignKey(
        to, on_delete=models.PROTECT, related_name=related_name, null=True, blank=True
    )


def _refunded_within_amount(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(amount_refunded__gte=0, amount_refunded__lte=F("amount")), name=name
    )


def new_payment_client_secret() -> str:
    """What the payer's browser holds to drive this one payment (see /publishable/)."""
    return f"pay_secret_{secrets.token_urlsafe(24)}"


class PaymentGateway(TenantModel):
    """A workspace's connection to a gateway. The sandbox needs none and is always offered;
    a Stripe connection holds its keys, which the API accepts but never shows."""

    id = public_id_field("gat")
    gateway = models.CharField(max_length=16, choices=GatewayKind.choices)
    enabled = models.BooleanField(default=True)
    publishable_key = models.CharField(max_length=255, blank=True)
    secret_key = models.CharField(max_length=255, blank=True)
    webhook_secret = models.CharField(max_length=255, blank=True)
    # What a Stripe connection keeps in step with Stripe.
    sync_customers = models.BooleanField(default=True)
    sync_invoices = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED
    )
    # When Stripe last accepted the secret key, and why it last refused a call.
    verified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=256, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "gateway"], name="payment_gateway_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} ({self.id})"


class Source(TenantModel):
    """A customer's card, as the gateway's token and what may be shown of the card."""

    id = public_id_field("sou")
    # Empty for the single-use card of an anonymous payer on a hosted payment link.
    customer = _optional_reference(Customer, "sources")
    gateway = models.CharField(max_length=16, choices=GatewayKind.choices)
    usage = models.CharField(
        max_length=16, choices=SourceUsage.choices, default=SourceUsage.REUSABLE
    )
    status = models.CharField(
        max_length=32, choices=SourceStatus.choices, default=SourceStatus.CHARGEABLE
    )
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    gateway_token = models.CharField(max_length=255)
    gateway_data = ObjectJSONField()
    # The link, intent or payment whose key a payer used to create this source without
    # an API token: only that checkout may charge it when it names no customer.
    payer_scope = models.CharField(max_length=40, blank=True)
    # The card the customer saved last through a setup (Stripe Checkout): the one to use
    # when nothing names another.
    default = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        constraints = [
            # An expression, not `fields`: DRF would otherwise read the constraint as a
            # rule for the API's input, and it is the service's (card_save_from_setup).
            models.UniqueConstraint(
                F("customer"), condition=Q(default=True), name="source_one_default_per_customer"
            ),
            models.CheckConstraint(
                condition=Q(card_exp_month__isnull=True)
                | Q(card_exp_month__gte=1, card_exp_month__lte=12),
                name="source_exp_month_valid",
            ),
            models.CheckConstraint(
                condition=Q(card_last4="") | Q(card_last4__regex=r"^[0-9]{4}$"),
                name="source_last4_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_brand} •••• {self.card_last4} ({self.id})"


class Payment(TenantModel):
    id = public_id_field("pay")
    customer = _optional_reference(Customer, "payments")
    amount = money_field()
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    description = models.CharField(max_length=256, blank=True)
    subscription_id = models.CharField(max_length=40, null=True, blank=True, db_index=True)  # noqa: DJ001
    source = _optional_reference(Source, "payments")
    gateway = models.CharField(max_length=16, choices=GatewayKind.choices, blank=True)
    # The gateway's id for the charge, to confirm, refund or reconcile it.
    gateway_reference = models.CharField(max_length=255, blank=True)
    # The gateway's page where the payer completes the authentication step (3-D Secure).
    authentication_url = models.URLField(max_length=2048, blank=True)
    status = models.CharField(
        max_length=32,
        choices=PaymentStatus.choices,
        default=PaymentStatus.REQUIRES_PAYMENT_METHOD,
        db_index=True,
    )
    payment_date = models.DateTimeField(null=True, blank=True)
    failed_reason = models.CharField(max_length=256, blank=True)
    amount_refunded = money_field()
    return_url = models.URLField(max_length=1000, blank=True)
    enable_checkout = models.BooleanField(default=False)
    client_secret = models.CharField(max_length=128, unique=True, default=new_payment_client_secret)
    # A payment left at the gateway's authentication step holds its invoices' amount
    # until then; the expiry sweep cancels it afterwards.
    authentication_expires_at = models.DateTimeField(null=True, blank=True)
    # Given up on (expired or cancelled) while its PaymentIntent at Stripe could still be
    # completed by the payer: it is to be cancelled there (`stripe_close_due`).
    gateway_close_due = models.BooleanField(default=False)
    invoices = models.ManyToManyField(
        "invoices.Invoice", through="PaymentAllocation", related_name="payments"
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            _refunded_within_amount("payment_refund_within_amount"),
        ]
        indexes = [
            models.Index(fields=["workspace", "test_mode", "-created_at"]),
            models.Index(
                fields=["id"], condition=Q(gateway_close_due=True), name="payment_close_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency_id} ({self.id}, {self.status})"


class PaymentAllocation(models.Model):
    """The part of a payment applied to one invoice, and how much of it was refunded."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="payment_allocations"
    )
    amount = money_field()
    amount_refunded = money_field()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="allocation_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            _refunded_within_amount("allocation_refund_within_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


class Refund(models.Model):
    id = public_id_field("rfd")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    reason = models.CharField(max_length=256, blank=True)
    gateway_reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment_id}"


class PaymentLink(TenantModel):
    """A hosted checkout page, addressed by an unguessable publishable key."""

    id = public_id_field("pli")
    publishable_key = models.CharField(max_length=64, unique=True)
    amount = money_field()
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=256, blank=True)
    invoice = _optional_reference(Invoice, "payment_links")
    customer = _optional_reference(Customer, "payment_links")
    expires_at = models.DateTimeField(null=True, blank=True)
    reusable = models.BooleanField(default=False)
    return_url = models.URLField(max_length=1000, blank=True)
    # The card paid with becomes the link customer's default source.
    save_card_and_make_default = models.BooleanField(default=False)
    # Set when a single-use link is paid: it then only says so.
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_link_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.description or self.id} ({self.amount} {self.currency_id})"


class Intent(TenantModel):
    """One attempt to collect an amount, for an invoice, an order or a payment link."""

    id = public_id_field("int")
    status = models.CharField(
        max_length=32,
        choices=IntentStatus.choices,
        default=IntentStatus.REQUIRES_PAYMENT_METHOD,
        db_index=True,
    )
    amount = money_field()
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    client_secret = models.CharField(max_length=128, unique=True)
    customer = _optional_reference(Customer, "+")
    invoice = _optional_reference(Invoice, "+")
    order = _optional_reference(Order, "+")
    payment_link = _optional_reference(PaymentLink, "intents")
    source = _optional_reference(Source, "+")
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, related_name="intent", null=True, blank=True
    )
    return_url = models.URLField(max_length=1000, blank=True)
    # The card paid with becomes the intent customer's default source.
    save_card_and_make_default = models.BooleanField(default=False)
    failed_reason = models.CharField(max_length=256, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    # The hosted form a payment link's attempt came from (its token's nonce): the same
    # form submitted again is this attempt, not a second charge.
    checkout_attempt = models.CharField(max_length=64, blank=True, default="")
    # The Stripe Checkout session the payer is sent to for this intent, and whether it is
    # to be expired there (the intent expired or was cancelled while it was open).
    checkout_session = models.CharField(max_length=255, blank=True, default="")
    gateway_close_due = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="intent_amount_positive"),
            models.UniqueConstraint(
                fields=["payment_link", "checkout_attempt"],
                condition=~Q(checkout_attempt=""),
                name="intent_one_per_checkout_attempt",
            ),
            models.CheckConstraint(
                condition=~Q(status=IntentStatus.FINALIZED) | Q(payment__isnull=False),
                name="intent_finalized_has_payment",
            ),
        ]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(gateway_close_due=True), name="intent_close_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class StripeEvent(TenantModel):
    """An event Stripe sent to the workspace's webhook URL, as received (signature
    checked), and what became of it. One row per Stripe event id: a resend is the
    same row, so each event takes effect once."""

    id = public_id_field("sev")
    stripe_id = models.CharField(max_length=255)
    type = models.CharField(max_length=128)
    payload = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder)
    # When Stripe created the event: what orders a late event behind a newer one.
    stripe_created_at = models.DateTimeField()
    status = models.CharField(
        max_length=16,
        choices=InboundEventStatus.choices,
        default=InboundEventStatus.RECEIVED,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=512, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "stripe_id"], name="stripe_event_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} ({self.stripe_id})"
