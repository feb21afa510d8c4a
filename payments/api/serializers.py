from decimal import Decimal
from typing import Any, ClassVar

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.clock import clock_now_for
from billing.links import public_url
from billing.representations import StrictFieldsMixin, TenantModelSerializer, TenantRelatedField
from payments.choices import GatewayKind, PaymentLinkState, PaymentStatus, SourceUsage
from payments.models import (
    Payment,
    PaymentGateway,
    PaymentLink,
    Source,
)
from payments.representations import (
    CurrencyCodeField,
    payment_amount,
    payment_authentication_url,
)
from payments.services import payment_link_amount, payment_link_state


class PaymentRefundSerializer(StrictFieldsMixin, serializers.Serializer):
    amount = payment_amount(required=False, min_value=Decimal("0.000001"))
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
            "default",
            "card",
            "gateway_data",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "default", "gateway_data"]
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
    webhook_url = serializers.SerializerMethodField(
        help_text="The URL to register in Stripe's dashboard for this connection's events."
    )

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
            "sync_customers",
            "sync_invoices",
            "status",
            "verified_at",
            "last_error",
            "webhook_url",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "verified_at", "last_error"]
        validators: list[Any] = []  # one connection per gateway is the service's rule

    read_only_set_by: ClassVar[dict[str, str]] = {
        "status": "A connection's status follows the checks of its keys.",
    }

    @extend_schema_field(serializers.CharField(allow_blank=True))
    def get_webhook_url(self, gateway: PaymentGateway) -> str:
        """Where Stripe sends this workspace's events (empty for the sandbox)."""
        if gateway.gateway != GatewayKind.STRIPE:
            return ""
        path = reverse("stripe-webhook", kwargs={"workspace_id": gateway.workspace_id})
        return public_url(path)

    def get_has_secret_key(self, gateway: PaymentGateway) -> bool:
        return bool(gateway.secret_key)

    def get_has_webhook_secret(self, gateway: PaymentGateway) -> bool:
        return bool(gateway.webhook_secret)


# Payment links


class PaymentLinkSerializer(TenantModelSerializer):
    amount = payment_amount(required=False, min_value=Decimal("0.000001"))
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
            "save_card_and_make_default",
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
        return public_url(path)

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

    @extend_schema_field(payment_amount(read_only=True))
    def get_amount(self, link: PaymentLink) -> Decimal:
        return payment_link_amount(link)

    def get_url(self, link: PaymentLink) -> str:
        path = reverse("payment-link-hosted", kwargs={"key": link.publishable_key})
        return public_url(path)

    @extend_schema_field(serializers.ChoiceField(choices=PaymentLinkState.choices))
    def get_status(self, link: PaymentLink) -> str:
        return payment_link_state(link, clock_now_for(link))


class IntentConfirmSerializer(StrictFieldsMixin, serializers.Serializer):
    source = TenantRelatedField(queryset=Source.objects.all())  # type: ignore[assignment]
    off_session = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "true when the payer is not there (a charge the merchant makes on its own): a "
            "card that needs the payer's authentication then fails with "
            "`authentication_required`. By default the payer is there: such a card leaves "
            "the payment processing and the intent's `redirect_url` is the page where the "
            "payer authenticates, which sends them back to the intent's `return_url`."
        ),
    )


# Publishable (browser) routes: what a payer sends and sees, nothing more.


class PublishableCardSerializer(StrictFieldsMixin, serializers.Serializer):
    """A sandbox test card. `number` is tokenized in memory and never stored or shown."""

    number = serializers.CharField(write_only=True, max_length=32)
    exp_month = serializers.IntegerField(min_value=1, max_value=12)
    exp_year = serializers.IntegerField(min_value=2000, max_value=2200)


class PublishablePaymentAuthorizeSerializer(StrictFieldsMixin, serializers.Serializer):
    """`client_secret` is the payment's or its intent's. Pay with either a `card` or a
    `source` (`sou_…`) created with this checkout's key."""

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

    amount = payment_amount(read_only=True)
    currency = serializers.CharField(source="currency_id", read_only=True)
    workspace = serializers.CharField(source="workspace.name", read_only=True)
    redirect_url = serializers.SerializerMethodField(
        help_text="The gateway's page where the payer authenticates (3-D Secure), if any."
    )
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
            "redirect_url",
            "authentication_expires_at",
            "failed_reason",
            "payment_date",
            "return_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_redirect_url(self, payment: Payment) -> str | None:
        return payment_authentication_url(payment)

    def get_requires_authentication(self, payment: Payment) -> bool:
        return payment.status == PaymentStatus.PROCESSING and payment.source_id is not None


class PublishableSourceCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """`key`: a payment link's `publishable_key`, or the `client_secret` of an intent or
    of a payment. The source belongs to that checkout's customer."""

    key = serializers.CharField(max_length=128)
    usage = serializers.ChoiceField(choices=SourceUsage.choices, default=SourceUsage.SINGLE)
    save_consent = serializers.BooleanField(
        default=False,
        help_text="The payer agreed to save the card for later charges: required (true) "
        "for `usage: reusable`.",
    )
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
