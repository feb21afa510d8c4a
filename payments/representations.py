"""What payments and intents look like to the outside: API responses and event payloads."""

from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.links import public_url
from billing.models import Currency
from billing.money import AMOUNT_DECIMAL_PLACES
from billing.representations import (
    CodeField,
    StrictFieldsMixin,
    TenantModelSerializer,
    TenantRelatedField,
    WorkspaceDateTimeField,
    snapshot,
)
from invoices.models import Invoice, Order
from payments.choices import INTENT_OPEN_STATUSES, PaymentStatus
from payments.models import (
    Intent,
    Payment,
    PaymentAllocation,
    Refund,
    Source,
)


def payment_amount(**kwargs: Any) -> serializers.DecimalField:
    # Up to 18 integer digits and 6 decimals: anything larger is a 400, never a 500.
    return serializers.DecimalField(
        max_digits=24,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        normalize_output=True,
        **kwargs,
    )


class CurrencyCodeField(CodeField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Currency.objects.all(), **kwargs)

    def use_pk_only_optimization(self) -> bool:
        return True  # the code is the primary key: shown without loading the currency

    def to_representation(self, obj: Any) -> Any:
        return obj.pk


# Payments


def payment_authentication_url(payment: Payment | None) -> str | None:
    """Where the payer authenticates a payment waiting for it at its gateway."""
    if payment is None or payment.status != PaymentStatus.PROCESSING:
        return None
    return payment.authentication_url or None


class PaymentAllocationSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    invoice = TenantRelatedField(queryset=Invoice.objects.all())
    amount = payment_amount(required=False, min_value=Decimal("0.000001"))
    amount_refunded = payment_amount(read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "amount", "amount_refunded"]


class PaymentRefundItemSerializer(serializers.ModelSerializer):
    amount = payment_amount(read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "amount", "reason", "created"]
        read_only_fields = fields


class PaymentInvoiceField(TenantRelatedField):
    """One invoice paid: shown as the first allocation's invoice."""

    def get_attribute(self, instance: Payment) -> Any:
        allocation = next(iter(instance.allocations.all()), None)
        return allocation.invoice if allocation is not None else None

    def use_pk_only_optimization(self) -> bool:
        return False


class PaymentSerializer(TenantModelSerializer):
    """`invoice` pays one invoice; `allocations` pays several, each with its share.
    `amount` defaults to what the invoices still owe. Without `source` the payment was
    received outside the gateways and succeeds at once (`status: requires_payment_method`
    keeps it waiting for `authorize`)."""

    amount = payment_amount(required=False, min_value=Decimal("0.000001"))
    currency = CurrencyCodeField(required=False)
    date = serializers.DateField(required=False)
    payment_date = WorkspaceDateTimeField(
        required=False,
        allow_null=True,
        help_text="When the payment was received. Sent only for a payment received outside "
        "the gateways (a date is its midnight in the workspace): not after today, not before "
        "the invoices it pays. Otherwise set when the payment succeeds.",
    )
    invoice = PaymentInvoiceField(queryset=Invoice.objects.all(), required=False, allow_null=True)
    allocations = PaymentAllocationSerializer(many=True, required=False)
    # A field named `source` shadows Field.source for the type checker only.
    source = TenantRelatedField(  # type: ignore[assignment]
        queryset=Source.objects.all(), required=False, allow_null=True
    )
    status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    gateway = serializers.CharField(
        read_only=True, help_text='The gateway that charged it; "" when paid outside them.'
    )
    gateway_reference = serializers.CharField(
        read_only=True,
        help_text='What the gateway calls the charge (a Stripe PaymentIntent `pi_…`); "" when '
        "no gateway charged it.",
    )
    redirect_url = serializers.SerializerMethodField(
        help_text="The gateway's page where the payer completes the authentication step "
        "(3-D Secure) while the payment is processing; null when there is none."
    )
    subscription = serializers.CharField(source="subscription_id", read_only=True, allow_null=True)
    balance = serializers.SerializerMethodField(
        help_text="What the payment still holds: its amount less its refunds."
    )
    amount_refunded = payment_amount(read_only=True)
    refunds = PaymentRefundItemSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "customer",
            "amount",
            "currency",
            "date",
            "description",
            "invoice",
            "allocations",
            "subscription",
            "source",
            "gateway",
            "gateway_reference",
            "status",
            "payment_date",
            "redirect_url",
            "balance",
            "amount_refunded",
            "refunds",
            "failed_reason",
            "return_url",
            "enable_checkout",
            "client_secret",
            "authentication_expires_at",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = [
            "failed_reason",
            "client_secret",
            "authentication_expires_at",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_redirect_url(self, payment: Payment) -> str | None:
        return payment_authentication_url(payment)

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=6))
    def get_balance(self, payment: Payment) -> Decimal:
        return payment.amount - payment.amount_refunded

    def validate_status(self, value: str) -> str:
        allowed = (PaymentStatus.REQUIRES_PAYMENT_METHOD, PaymentStatus.SUCCEEDED)
        if value not in allowed:
            raise serializers.ValidationError(
                "A new payment is requires_payment_method or succeeded."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("invoice") and attrs.get("allocations"):
            raise serializers.ValidationError(
                {"allocations": ["Name either invoice or allocations, not both."]}
            )
        if attrs.get("source") and attrs.get("status") == PaymentStatus.REQUIRES_PAYMENT_METHOD:
            raise serializers.ValidationError(
                {"status": ["A payment with a source is charged at once."]}
            )
        return attrs


# Intents


class IntentSerializer(TenantModelSerializer):
    """An intent for an `invoice` (its amount due) or an `order` (its total; the order is
    invoiced when the payment is captured)."""

    amount = payment_amount(required=False, min_value=Decimal("0.000001"))
    currency = CurrencyCodeField(
        required=False,
        help_text="The invoice's or order's currency; optional, and a 400 when it differs.",
    )
    invoice = TenantRelatedField(queryset=Invoice.objects.all(), required=False, allow_null=True)
    order = TenantRelatedField(queryset=Order.objects.all(), required=False, allow_null=True)
    source = TenantRelatedField(  # type: ignore[assignment]  # a field named like Field.source
        queryset=Source.objects.all(),
        required=False,
        allow_null=True,
        help_text="A source (`sou_…`) of the customer to pay with.",
    )
    redirect_url = serializers.SerializerMethodField(
        help_text=(
            "The page where a payer completes this intent while it waits for them; null "
            "once it is paid, failed, cancelled or expired."
        )
    )

    class Meta:
        model = Intent
        fields = [
            "id",
            "status",
            "amount",
            "currency",
            "client_secret",
            "invoice",
            "order",
            "payment_link",
            "customer",
            "source",
            "payment",
            "redirect_url",
            "return_url",
            "save_card_and_make_default",
            "expires_at",
            "failed_reason",
            "authorized_at",
            "captured_at",
            "finalized_at",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = [
            "status",
            "client_secret",
            "payment_link",
            "customer",
            "payment",
            "failed_reason",
            "authorized_at",
            "captured_at",
            "finalized_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The amount's currency and payer come from the invoice or order: what the body
        # says about them must agree, or it would be silently ignored.
        document = attrs.get("invoice") or attrs.get("order")
        currency = attrs.pop("currency", None)
        if document is not None and currency is not None and currency.code != document.currency_id:
            raise serializers.ValidationError(
                {"currency": [f"{document.id} is in {document.currency_id}, not {currency.code}."]}
            )
        source = attrs.get("source")
        if (
            document is not None
            and source is not None
            and source.customer_id
            not in (
                None,
                document.customer_id,
            )
        ):
            raise serializers.ValidationError(
                {"source": [f"Source {source.id} belongs to another customer."]}
            )
        return attrs

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_redirect_url(self, intent: Intent) -> str | None:
        # While its payment waits for 3-D Secure at the gateway, the payer completes the
        # intent on the gateway's page.
        waiting = payment_authentication_url(intent.payment)
        if waiting is not None:
            return waiting
        # As Stripe's next_action: nothing to send the payer to once the intent no longer
        # waits for them (paid, failed, cancelled, expired).
        if intent.status not in INTENT_OPEN_STATUSES:
            return None
        path = reverse("intent-hosted", kwargs={"secret": intent.client_secret})
        return public_url(path)


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    return snapshot(PaymentSerializer, payment)


def intent_snapshot(intent: Intent) -> dict[str, Any]:
    return snapshot(IntentSerializer, intent)
