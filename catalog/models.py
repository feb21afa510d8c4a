"""The catalog: what a workspace sells (products and their plans, add-ons), the coupons
it grants and the tax rates it applies. Prices are unit prices: up to six decimals,
rounded to the currency only where a document total is computed (rules.md §1)."""

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.functions import Upper

from billing.ids import public_id_field
from billing.models import TenantModel
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from catalog.choices import (
    ApplyOn,
    ApplyScheme,
    CatalogStatus,
    DiscountScheme,
    DurationScheme,
    PlanFrequency,
    TiersMode,
    UsageAggregation,
    UsageScheme,
)


def amount_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs
    )


def status_field() -> models.CharField:
    return models.CharField(
        max_length=16, choices=CatalogStatus.choices, default=CatalogStatus.ACTIVE
    )


def tenant_list_index() -> models.Index:
    return models.Index(fields=["workspace", "test_mode", "-created_at"])


class Product(TenantModel):
    id = public_id_field("pro")
    name = models.CharField(max_length=64)
    unit_label = models.CharField(max_length=12, blank=True)
    code = models.CharField(max_length=64, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=1024, blank=True)
    status = status_field()
    # When it was archived, null while active: Piriod's `archived` is this datetime.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [tenant_list_index()]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Plan(TenantModel):
    id = public_id_field("pla")
    # A product with plans is archived, never deleted.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=64)
    sku = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=1024, blank=True)
    frequency = models.CharField(
        max_length=16, choices=PlanFrequency.choices, default=PlanFrequency.MONTHLY
    )
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    # Per unit; per package when package_size is set; unused when tiers_mode is set.
    amount = amount_field(default=Decimal(0))
    exempt = models.BooleanField(default=False)
    usage_scheme = models.CharField(
        max_length=16, choices=UsageScheme.choices, default=UsageScheme.LICENSED
    )
    usage_aggregation = models.CharField(
        max_length=16, choices=UsageAggregation.choices, default=UsageAggregation.SUM
    )
    # null: not tiered (the API shows null, as for every optional choice).
    tiers_mode = models.CharField(  # noqa: DJ001
        max_length=8, choices=TiersMode.choices, null=True, blank=True
    )
    package_size = models.PositiveIntegerField(null=True, blank=True)
    # The usage meter (`met_…`) of an event-based metered plan; a foreign key once meters exist.
    meter_id = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    trial_days = models.PositiveIntegerField(default=0)
    status = status_field()

    class Meta(TenantModel.Meta):
        indexes = [tenant_list_index()]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tiers_mode__isnull=True) | models.Q(package_size__isnull=True),
                name="plan_tiers_or_package",
            ),
            models.CheckConstraint(
                condition=models.Q(package_size__isnull=True) | models.Q(package_size__gte=1),
                name="plan_package_size_positive",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="plan_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class PlanTier(models.Model):
    """One tier of a tiered plan; a plan's tiers are replaced as a whole."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tiers")
    position = models.PositiveSmallIntegerField()
    # Inclusive upper bound in units; null for the last tier, which has none.
    up_to = models.PositiveBigIntegerField(null=True, blank=True)
    amount = amount_field(default=Decimal(0))
    flat_amount = amount_field(default=Decimal(0))

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="plan_tier_position_unique"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0, flat_amount__gte=0),
                name="plan_tier_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} tier {self.position} (up to {self.up_to or '∞'})"


class AddOn(TenantModel):
    id = public_id_field("add")
    name = models.CharField(max_length=64)
    sku = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=1024, blank=True)
    amount = amount_field()
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    apply_scheme = models.CharField(
        max_length=16, choices=ApplyScheme.choices, default=ApplyScheme.ONE_TIME
    )
    # Recurring add-ons: billed this many cycles; null = for as long as the subscription.
    duration_times = models.PositiveIntegerField(null=True, blank=True)
    status = status_field()

    class Meta(TenantModel.Meta):
        verbose_name = "add-on"
        indexes = [tenant_list_index()]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="addon_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(apply_scheme=ApplyScheme.RECURRING)
                | models.Q(duration_times__isnull=True),
                name="addon_duration_only_recurring",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Coupon(TenantModel):
    id = public_id_field("cou")
    name = models.CharField(max_length=64)
    # What customers type; unique per tenant whatever its case, kept as written. Null when
    # the coupon is applied by id only (the unique constraint skips nulls).
    code = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    discount_scheme = models.CharField(
        max_length=1, choices=DiscountScheme.choices, default=DiscountScheme.PERCENT
    )
    # A percent (0 < x ≤ 100) for `%`, an amount of `currency` for `$`.
    amount = amount_field()
    currency = models.ForeignKey(
        "billing.Currency", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    apply_on = models.CharField(max_length=8, choices=ApplyOn.choices, default=ApplyOn.INVOICE)
    duration_scheme = models.CharField(
        max_length=16, choices=DurationScheme.choices, default=DurationScheme.ONE_TIME
    )
    duration_times = models.PositiveIntegerField(null=True, blank=True)
    # The last day the coupon can be redeemed (inclusive), in the workspace's timezone.
    valid_until_date = models.DateField(null=True, blank=True)
    # How many times it may be redeemed (an invoiced order, a subscription that takes it);
    # null for no limit. The check constraint holds the count under concurrent redemptions.
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    status = status_field()

    class Meta(TenantModel.Meta):
        indexes = [tenant_list_index()]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_redemptions__isnull=True)
                | models.Q(max_redemptions__gte=1, times_redeemed__lte=models.F("max_redemptions")),
                name="coupon_redemptions_within_limit",
            ),
            models.UniqueConstraint(
                models.F("workspace"),
                models.F("test_mode"),
                Upper("code"),
                condition=models.Q(code__isnull=False),
                name="coupon_code_unique",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="coupon_amount_positive"),
            models.CheckConstraint(
                condition=~models.Q(discount_scheme=DiscountScheme.PERCENT)
                | models.Q(amount__lte=100),
                name="coupon_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=~models.Q(discount_scheme=DiscountScheme.AMOUNT)
                | models.Q(currency__isnull=False),
                name="coupon_amount_has_currency",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    duration_scheme=DurationScheme.LIMITED, duration_times__isnull=False
                )
                | (
                    ~models.Q(duration_scheme=DurationScheme.LIMITED)
                    & models.Q(duration_times__isnull=True)
                ),
                name="coupon_duration_times_only_limited",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code or self.id})"


class Tax(TenantModel):
    id = public_id_field("tax")
    name = models.CharField(max_length=64)
    percent = models.DecimalField(max_digits=7, decimal_places=4)
    country = models.ForeignKey("billing.Country", on_delete=models.PROTECT, related_name="+")
    # An exemption (e.g. Chile's "exento"): lines with it add to the document's `exempt`.
    exempt = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        verbose_name_plural = "taxes"
        indexes = [tenant_list_index()]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__gte=0, percent__lte=100), name="tax_percent_range"
            ),
            models.CheckConstraint(
                condition=models.Q(exempt=False) | models.Q(percent=0),
                name="tax_exempt_is_zero",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.percent}% ({self.id})"
