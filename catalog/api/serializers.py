from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from billing.models import Country, Currency
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from billing.representations import CodeField, StrictFieldsMixin, TenantModelSerializer
from catalog.choices import (
    DURATION_TIMES_MAX,
    PACKAGE_SIZE_MAX,
    TIER_UP_TO_MAX,
    TIERS_MODE_ALIASES,
    TIERS_PER_PLAN,
    TRIAL_DAYS_MAX,
    CatalogStatus,
    TiersMode,
)
from catalog.models import AddOn, Coupon, Plan, Product, Tax
from catalog.pricing import Tier


def amount_field(**kwargs: Any) -> serializers.DecimalField:
    """A unit price or amount: in as a string or number with up to 6 decimals, out as a
    string without trailing zeros ("19000", "118.5")."""
    kwargs.setdefault("min_value", Decimal(0))
    return serializers.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        normalize_output=True,
        **kwargs,
    )


def currency_field(**kwargs: Any) -> CodeField:
    return CodeField(
        queryset=Currency.objects.all(),
        help_text="ISO 4217 code; the workspace's currency when omitted.",
        **kwargs,
    )


class TiersModeField(serializers.ChoiceField):
    """Our tiers modes, or the names Piriod and Stripe clients use for them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=TiersMode.choices, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            data = TIERS_MODE_ALIASES.get(data, data)
        return super().to_internal_value(data)


class StatusByActionsMixin(serializers.Serializer):
    """`status` changes only with the `archive` and `unarchive` actions (spec: a read
    field; state changes are actions). A body may repeat the current status, as a
    retrieved object PUT back does; any other value is a 400, never silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "status" in data:
            sent = data["status"]
            current = self.instance.status if self.instance is not None else CatalogStatus.ACTIVE
            if not isinstance(sent, str) or sent not in CatalogStatus.values:
                raise serializers.ValidationError({"status": [f'"{sent}" is not a valid choice.']})
            if sent != current:
                raise serializers.ValidationError(
                    {"status": ["The status changes with the archive and unarchive actions."]}
                )
        return super().to_internal_value(data)


class ProductSerializer(StatusByActionsMixin, TenantModelSerializer):
    """What a workspace sells; its plans say how it is priced and billed."""

    plans: serializers.PrimaryKeyRelatedField[Plan] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )
    archived = serializers.DateTimeField(
        source="archived_at",
        read_only=True,
        allow_null=True,
        help_text="When the product was archived (`archive`), null while it is active.",
    )

    class Meta:
        model = Product
        fields = [
            "id", "name", "unit_label", "code", "sku", "description", "plans", "status",
            "archived", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["status"]


class PlanTierSerializer(StrictFieldsMixin, serializers.Serializer):
    """One tier: units above the previous tier's `up_to`, up to and including its own."""

    up_to = serializers.IntegerField(
        min_value=1,
        max_value=TIER_UP_TO_MAX,
        allow_null=True,
        help_text="Inclusive upper bound in units; null for the last tier.",
    )
    amount = amount_field(default=Decimal(0), help_text="Per unit in this tier.")
    flat_amount = amount_field(
        default=Decimal(0), help_text="Added once when the tier holds any units."
    )

    def to_internal_value(self, data: Any) -> Tier:
        return Tier(**super().to_internal_value(data))


class PlanSerializer(StatusByActionsMixin, TenantModelSerializer):
    """A price of a product: an amount per unit, per package or by tiers, billed every
    `frequency` for the subscribed quantity (licensed) or the period's usage (metered)."""

    currency = currency_field(required=False)
    amount = amount_field(
        required=False,
        help_text=(
            "Per unit, or per package when package_size is set; required unless tiers_mode "
            "is set (tiers carry the prices then)."
        ),
    )
    tiers_mode = TiersModeField(
        required=False,
        allow_null=True,
        help_text="`range`: graduated, each unit at its own tier; `unit`: volume, every unit "
        "at the tier the total reaches; null: not tiered. `graduated` and `volume` are "
        "accepted for them and answered as `range` and `unit`.",
    )
    tiers = PlanTierSerializer(  # type: ignore[call-arg]  # ListSerializer takes max_length
        many=True, required=False, max_length=TIERS_PER_PLAN
    )
    package_size = serializers.IntegerField(
        min_value=1,
        max_value=PACKAGE_SIZE_MAX,
        required=False,
        allow_null=True,
        help_text="Units per package: quantities are rounded up to whole packages.",
    )
    meter = serializers.CharField(
        source="meter_id",
        max_length=40,
        required=False,
        allow_null=True,
        validators=[RegexValidator(r"^met_[0-9A-Za-z]+$", "Enter a meter id (met_…).")],
        help_text="The usage meter (`met_…`) of an event-based metered plan.",
    )
    trial_days = serializers.IntegerField(min_value=0, max_value=TRIAL_DAYS_MAX, required=False)

    class Meta:
        model = Plan
        fields = [
            "id", "product", "name", "sku", "description", "frequency", "currency", "amount",
            "exempt", "usage_scheme", "usage_aggregation", "tiers_mode", "tiers",
            "package_size", "meter", "trial_days", "status", "metadata", "test_mode",
            "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["status"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tiered = attrs.get("tiers_mode", getattr(self.instance, "tiers_mode", None))
        if self.instance is None and tiered is None and "amount" not in attrs:
            raise serializers.ValidationError({"amount": ["This field is required."]})
        return attrs


class AddOnSerializer(StatusByActionsMixin, TenantModelSerializer):
    """A charge added to a subscription once or for some cycles (or all of them)."""

    currency = currency_field(required=False)
    amount = amount_field()
    duration_times = serializers.IntegerField(
        min_value=1,
        max_value=DURATION_TIMES_MAX,
        required=False,
        allow_null=True,
        help_text="Cycles a recurring add-on is billed; null = as long as the subscription.",
    )

    class Meta:
        model = AddOn
        fields = [
            "id", "name", "sku", "description", "amount", "currency", "apply_scheme",
            "duration_times", "status", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["status"]


class CouponSerializer(StatusByActionsMixin, TenantModelSerializer):
    """A discount: a percent or an amount, on the invoice or a line, for one, some or
    all billing cycles."""

    code = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "Use letters, digits, '-' and '_' only.")],
        help_text="What customers type; unique in the workspace whatever its case.",
    )
    amount = amount_field(help_text="A percent (0 < x ≤ 100) for `%`, an amount for `$`.")
    currency = CodeField(
        queryset=Currency.objects.all(),
        required=False,
        allow_null=True,
        help_text="ISO 4217 code; required for `$` discounts.",
    )
    duration_times = serializers.IntegerField(
        min_value=1,
        max_value=DURATION_TIMES_MAX,
        required=False,
        allow_null=True,
        help_text="Billing cycles the discount lasts; required when duration_scheme is limited.",
    )
    valid_until = serializers.DateField(
        source="valid_until_date",
        required=False,
        allow_null=True,
        help_text="The last day the coupon can be redeemed, in the workspace's calendar.",
    )
    max_redemptions = serializers.IntegerField(
        min_value=1,
        max_value=DURATION_TIMES_MAX,
        required=False,
        allow_null=True,
        help_text="How many times it can be redeemed (each invoiced order and each "
        "subscription taking it is one); null for no limit.",
    )

    class Meta:
        model = Coupon
        fields = [
            "id", "name", "code", "amount", "currency", "discount_scheme", "apply_on",
            "duration_scheme", "duration_times", "valid_until", "max_redemptions",
            "times_redeemed", "status", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["status", "times_redeemed"]
        # Uniqueness of `code` is a service rule (scoped to the tenant, any case).
        validators: list[Any] = []


class CouponValidateQuerySerializer(StrictFieldsMixin, serializers.Serializer):
    code = serializers.CharField(max_length=64)


class TaxSerializer(TenantModelSerializer):
    """A named tax rate a line can carry (or an exemption)."""

    percent = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        normalize_output=True,
        required=False,
        help_text="Required unless the tax is exempt (an exemption's percent is 0).",
    )
    country = CodeField(
        queryset=Country.objects.all(),
        required=False,
        help_text="ISO 3166 code; the workspace's country when omitted.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An exemption has nothing to state: its percent can only be 0.
        if self.instance is None and "percent" not in attrs:
            if not attrs.get("exempt", False):
                raise serializers.ValidationError({"percent": ["This field is required."]})
            attrs["percent"] = Decimal(0)
        return attrs

    class Meta:
        model = Tax
        fields = [
            "id", "name", "percent", "country", "exempt", "metadata", "test_mode", "created",
            "updated",
        ]  # fmt: skip
