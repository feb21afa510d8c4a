from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.api.serializers import StrictFieldsMixin, TenantModelSerializer, TenantRelatedField
from billing.clock import clock_now_for
from billing.models import Currency
from billing.money import AMOUNT_DECIMAL_PLACES
from invoices.models import Invoice, Order
from payments.choices import GatewayKind, PaymentLinkState, PaymentStatus, SourceUsage
from payments.models import (
    Intent,
    Payment,
    PaymentAllocation,
    PaymentGateway,
    PaymentLink,
    Refund,
    Source,
)
from payments.services import payment_link_amount, payment_link_state


def _amount(**kwargs: Any) -> serializers.DecimalField:
    # Up to 18 integer digits and 6 decimals: anything larger is a 400, never a 500.
    return serializers.DecimalField(
        max_digits=24,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        normalize_output=True,
        **kwargs,
    )


class CurrencyCodeField(serializers.SlugRelatedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="code", queryset=Currency.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data.strip().upper())

    def use_pk_only_optimization(self) -> bool:
        return True  # the code is the primary key: shown without loading the currency

    def to_representation(self, obj: Any) -> Any:
        return obj.pk


def _absolute(request: Any, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


# Payments


class PaymentAllocationSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    invoice = TenantRelatedField(queryset=Invoice.objects.all())
    amount = _amount(required=False, min_value=Decimal("0.000001"))
    amount_refunded = _amount(read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "amount", "amount_refunded"]


class PaymentRefundItemSerializer(serializers.ModelSerializer):
    amount = _amount(read_only=True)
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

    amount = _amount(required=False, min_value=Decimal("0.000001"))
    currency = CurrencyCodeField(required=False)
    date = serializers.DateField(required=False)
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
    subscription = serializers.CharField(source="subscription_id", read_only=True, allow_null=True)
    balance = serializers.SerializerMethodField(
        help_text="What the payment still holds: its amount less its refunds."
    )
    amount_refunded = _amount(read_only=True)
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
            "status",
            "payment_date",
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
            "payment_date",
            "failed_reason",
            "client_secret",
            "authentication_expires_at",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=6))
    def get_balance(self, payment: Payment) -> str:
        field = _amount()
        return str(field.to_representation(payment.amount - payment.amount_refunded))

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


class PaymentRefundSerializer(StrictFieldsMixin, serializers.Serializer):
    amount = _amount(required=False, min_value=Decimal("0.000001"))
    reason = serializers.CharField(max_length=256, required=False, allow_blank=True)


class PaymentAuthorizeSerializer(StrictFieldsMixin, serializers.Serializer):
    source = TenantRelatedField(queryset=Source.objects.all())  # type: ignore[assignment]


# Sources


class SourceCardSerializer(StrictFieldsMixin, serializers.Serializer):
    """The card: `number` is accepted once, tokenized in memory, and never stored or shown."""

    number = serializers.CharField(write_only=True, max_length=32)
    exp_month = serializers.IntegerField(source="card_exp_month", min_value=1, max_value=12)
    exp_year = serializers.IntegerField(source="card_exp_year", min_value=2000, max_value=2200)
    brand = serializers.CharField(source="card_brand", read_only=True)
    last4 = serializers.CharField(source="card_last4", read_only=True)


class SourceSerializer(TenantModelSerializer):
    gateway = serializers.ChoiceField(choices=GatewayKind.choices, default=GatewayKind.SANDBOX)
    card = SourceCardSerializer(source="*")

    class Meta:
        model = Source
        fields = [
            "id",
            "customer",
            "gateway",
            "usage",
            "status",
            "card",
            "gateway_data",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "gateway_data"]
        extra_kwargs = {"customer": {"required": True, "allow_null": False}}


# Gateways


class PaymentGatewaySerializer(TenantModelSerializer):
    """A gateway connection. `secret_key` and `webhook_secret` are write-only: the API
    says only whether they are set."""

    gateway = serializers.ChoiceField(choices=GatewayKind.choices)
    secret_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=255
    )
    webhook_secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=255
    )
    has_secret_key = serializers.SerializerMethodField()
    has_webhook_secret = serializers.SerializerMethodField()

    class Meta:
        model = PaymentGateway
        fields = [
            "id",
            "gateway",
            "enabled",
            "publishable_key",
            "secret_key",
            "webhook_secret",
            "has_secret_key",
            "has_webhook_secret",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        validators: list[Any] = []  # one connection per gateway is the service's rule

    def get_has_secret_key(self, gateway: PaymentGateway) -> bool:
        return bool(gateway.secret_key)

    def get_has_webhook_secret(self, gateway: PaymentGateway) -> bool:
        return bool(gateway.webhook_secret)


# Payment links


class PaymentLinkSerializer(TenantModelSerializer):
    amount = _amount(required=False, min_value=Decimal("0.000001"))
    currency = CurrencyCodeField(required=False)
    url = serializers.SerializerMethodField(help_text="The hosted checkout page.")
    status = serializers.SerializerMethodField(help_text="open, paid or expired.")

    class Meta:
        model = PaymentLink
        fields = [
            "id",
            "amount",
            "currency",
            "description",
            "invoice",
            "customer",
            "expires_at",
            "reusable",
            "return_url",
            "publishable_key",
            "url",
            "status",
            "paid_at",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = ["publishable_key", "paid_at"]

    def get_url(self, link: PaymentLink) -> str:
        path = reverse("payment-link-hosted", kwargs={"key": link.publishable_key})
        return _absolute(self.context.get("request"), path)

    @extend_schema_field(serializers.ChoiceField(choices=PaymentLinkState.choices))
    def get_status(self, link: PaymentLink) -> str:
        return payment_link_state(link, clock_now_for(link))


class PaymentLinkPublicSerializer(serializers.ModelSerializer):
    """What anyone holding the publishable key may read: nothing but the link.

    `amount` is what the checkout charges now: for an invoice's link, at most what the
    invoice still owes."""

    amount = serializers.SerializerMethodField()
    currency = serializers.CharField(source="currency_id", read_only=True)
    workspace = serializers.CharField(source="workspace.name", read_only=True)
    url = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = PaymentLink
        fields = [
            "publishable_key",
            "workspace",
            "amount",
            "currency",
            "description",
            "expires_at",
            "reusable",
            "url",
            "status",
        ]
        read_only_fields = fields

    @extend_schema_field(_amount(read_only=True))
    def get_amount(self, link: PaymentLink) -> str:
        return str(_amount().to_representation(payment_link_amount(link)))

    def get_url(self, link: PaymentLink) -> str:
        path = reverse("payment-link-hosted", kwargs={"key": link.publishable_key})
        return _absolute(self.context.get("request"), path)

    @extend_schema_field(serializers.ChoiceField(choices=PaymentLinkState.choices))
    def get_status(self, link: PaymentLink) -> str:
        return payment_link_state(link, clock_now_for(link))


# Intents


class IntentSerializer(TenantModelSerializer):
    """An intent for an `invoice` (its amount due) or an `order` (its total; the order is
    invoiced when the payment is captured)."""

    amount = _amount(required=False, min_value=Decimal("0.000001"))
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
        help_text="The hosted page where a payer completes this intent, when it has one."
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
        path = reverse("intent-hosted", kwargs={"secret": intent.client_secret})
        return _absolute(self.context.get("request"), path)


class IntentConfirmSerializer(StrictFieldsMixin, serializers.Serializer):
    source = TenantRelatedField(queryset=Source.objects.all())  # type: ignore[assignment]


# Publishable (browser) routes: what a payer sends and sees, nothing more.


class PublishableCardSerializer(StrictFieldsMixin, serializers.Serializer):
    """A sandbox test card. `number` is tokenized in memory and never stored or shown."""

    number = serializers.CharField(write_only=True, max_length=32)
    exp_month = serializers.IntegerField(min_value=1, max_value=12)
    exp_year = serializers.IntegerField(min_value=2000, max_value=2200)


class PublishablePaymentAuthorizeSerializer(StrictFieldsMixin, serializers.Serializer):
    """`client_secret` is the payment's or its intent's. Pay with either a `card` or a
    `source` (`sou_…`) of the payment's customer or created with this payment's key."""

    client_secret = serializers.CharField(max_length=128)
    card = PublishableCardSerializer(required=False)
    # Not a model field: the name only shadows Field.source for the type checker.
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=40, required=False, help_text="A source id (sou_…)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("card" in attrs) == ("source" in attrs):
            raise serializers.ValidationError({"non_field_errors": ["Send either card or source."]})
        return attrs


class PublishablePaymentAuthenticateSerializer(StrictFieldsMixin, serializers.Serializer):
    client_secret = serializers.CharField(max_length=128)
    approved = serializers.BooleanField(help_text="The payer's answer to the card's check.")


class PaymentPublicSerializer(serializers.ModelSerializer):
    """What the payer of a payment sees: its amount and where it stands."""

    amount = _amount(read_only=True)
    currency = serializers.CharField(source="currency_id", read_only=True)
    workspace = serializers.CharField(source="workspace.name", read_only=True)
    requires_authentication = serializers.SerializerMethodField(
        help_text="The card needs the payer's authentication step (POST …/authenticate/)."
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "workspace",
            "amount",
            "currency",
            "description",
            "status",
            "requires_authentication",
            "authentication_expires_at",
            "failed_reason",
            "payment_date",
            "return_url",
        ]
        read_only_fields = fields

    def get_requires_authentication(self, payment: Payment) -> bool:
        return payment.status == PaymentStatus.PROCESSING and payment.source_id is not None


class PublishableSourceCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """`key`: a payment link's `publishable_key`, or the `client_secret` of an intent or
    of a payment. The source belongs to that checkout's customer."""

    key = serializers.CharField(max_length=128)
    usage = serializers.ChoiceField(choices=SourceUsage.choices, default=SourceUsage.SINGLE)
    card = PublishableCardSerializer()


class SourcePublicCardSerializer(serializers.Serializer):
    brand = serializers.CharField(source="card_brand", read_only=True)
    last4 = serializers.CharField(source="card_last4", read_only=True)
    exp_month = serializers.IntegerField(source="card_exp_month", read_only=True)
    exp_year = serializers.IntegerField(source="card_exp_year", read_only=True)


class SourcePublicSerializer(serializers.ModelSerializer):
    """A source as its payer sees it: no customer, token or gateway data."""

    card = SourcePublicCardSerializer(source="*", read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Source
        fields = ["id", "gateway", "usage", "status", "card", "created"]
        read_only_fields = fields
