"""What subscriptions look like to the outside: API responses and event payloads."""

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import DocumentType
from billing.representations import (
    IdRelatedField,
    StrictFieldsMixin,
    TenantModelSerializer,
    TenantRelatedField,
    quantity_field,
    snapshot,
)
from catalog.models import AddOn, Coupon, Plan
from invoices.choices import MAX_REFERENCES
from invoices.representations import DocumentReferenceSerializer
from organization.models import OrgUnit
from payments.models import Source
from subscriptions.models import EndedLine, Subscription, SubscriptionAddOn, SubscriptionLine
from subscriptions.next_invoice import is_last_billing
from subscriptions.selectors import subscription_queryset


@extend_schema_field(
    {"oneOf": [{"type": "string", "format": "date"},
               {"type": "integer", "minimum": 1, "maximum": 31}]}
)  # fmt: skip
class BillingAnchorField(serializers.Field):
    """A date (ISO 8601) or a day of the month (a JSON integer 1-31)."""

    default_error_messages = {
        "invalid": "A date (YYYY-MM-DD) or a day of the month from 1 to 31.",
    }

    def to_internal_value(self, data: Any) -> date | int:
        if isinstance(data, int) and not isinstance(data, bool):
            if not 1 <= data <= 31:
                self.fail("invalid")
            return data
        return serializers.DateField().run_validation(data)

    def to_representation(self, value: date) -> str:
        return value.isoformat()


# Fields fixed at creation: what the periods and invoices already issued were built on.
CREATE_ONLY = ("customer", "document", "date_start", "trial_end", "billing_anchor")


class SubscriptionLineSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    plan = TenantRelatedField(queryset=Plan.objects.select_related("product"))
    quantity = quantity_field(min_value=Decimal(0), default=Decimal(1))
    coupon = TenantRelatedField(queryset=Coupon.objects.all(), required=False, allow_null=True)

    class Meta:
        model = SubscriptionLine
        # `id` names a metered line in usage records (/usages/); lines sent back keep none.
        fields = ["id", "plan", "quantity", "coupon"]
        read_only_fields = ["id"]


class SubscriptionAddOnSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    addon = TenantRelatedField(queryset=AddOn.objects.all())
    quantity = quantity_field(min_value=Decimal(0), default=Decimal(1))

    class Meta:
        model = SubscriptionAddOn
        fields = ["addon", "quantity"]


class EndedLineSerializer(serializers.ModelSerializer):
    """A metered line removed mid-period, whose usage is still to bill."""

    plan: serializers.PrimaryKeyRelatedField[Plan] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    coupon: serializers.PrimaryKeyRelatedField[Coupon] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    usage_start = serializers.DateField(
        read_only=True, help_text="The start of the period whose usage it bills."
    )
    ended = serializers.DateTimeField(
        source="ended_at", read_only=True, help_text="When the line was removed."
    )
    ended_on = serializers.DateField(
        read_only=True,
        help_text="The day it was removed, in the workspace's timezone: its usage is billed "
        "from usage_start up to the removal.",
    )

    class Meta:
        model = EndedLine
        fields = ["plan", "coupon", "usage_start", "ended", "ended_on"]
        read_only_fields = fields


class SubscriptionReferenceSerializer(DocumentReferenceSerializer):
    """A document the subscription's invoices cite (e.g. the customer's purchase order),
    with Piriod's `date_end`: the last day it is valid. Invoices copy the SII's fields."""

    date_end = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        ends = attrs.get("date_end")
        if ends is not None and ends < attrs["date"]:
            raise serializers.ValidationError(
                {"date_end": ["The reference cannot end before its date."]}
            )
        return attrs


class SubscriptionSerializer(TenantModelSerializer):
    document = IdRelatedField(
        queryset=DocumentType.objects.all(),
        required=False,
        help_text="The type of the invoices it generates; default the country's invoice.",
    )
    default_source = TenantRelatedField(
        queryset=Source.objects.all(),
        required=False,
        allow_null=True,
        help_text="The customer's card charged when collection_scheme is charge_payment.",
    )
    coupon = TenantRelatedField(
        queryset=Coupon.objects.all(),
        required=False,
        allow_null=True,
        help_text="Applied to each invoice from the next cycle, for the coupon's duration.",
    )
    orgunit = TenantRelatedField(
        queryset=OrgUnit.objects.all(),
        required=False,
        allow_null=True,
        help_text="The branch (org unit) its invoices are issued from: every invoice it "
        "generates names it in `orgunit`.",
    )
    lines = SubscriptionLineSerializer(many=True)
    ended_lines = EndedLineSerializer(
        many=True,
        read_only=True,
        help_text="Metered lines removed in the running period: their usage up to the "
        "removal is billed on the next invoice (the next cycle's, or the final one of a "
        "cancellation), then they leave this list.",
    )
    addons = SubscriptionAddOnSerializer(many=True, required=False)
    references = SubscriptionReferenceSerializer(  # type: ignore[call-arg]
        many=True, required=False, max_length=MAX_REFERENCES
    )
    currency = serializers.CharField(source="currency_id", read_only=True)
    custom_change = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=Decimal(1), required=False
    )
    expiration_days = serializers.IntegerField(
        min_value=0, max_value=3650, required=False, help_text="The invoices' due date is "
        "their date plus this many days."
    )  # fmt: skip
    billing_cycles = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True,
        help_text="Invoices to issue before the subscription is finalized; null: until "
        "cancelled.",
    )  # fmt: skip
    date_start = serializers.DateField(
        required=False, help_text="Default today, in the workspace's timezone."
    )
    billing_anchor = BillingAnchorField(
        required=False,
        help_text="A date, or a day of the month (1-31, not for weekly plans). Periods "
        "start on its day, clamped to shorter months (31: Jan 31, Feb 28, Mar 31); default "
        "when billing starts. When billing starts before the anchor, the first period runs "
        "up to it and is billed prorated by day. Answered as the date boundaries count "
        "from: for a day of the month, the first date on or after billing starts on that "
        "day.",
    )
    next_billing_cycle = serializers.SerializerMethodField()
    needs_attention = serializers.DateTimeField(
        source="needs_attention_at",
        read_only=True,
        allow_null=True,
        help_text="When billing stopped for someone to look (see `needs_attention_reason`; "
        "`resume` clears it), null otherwise.",
    )
    cancelled = serializers.DateTimeField(source="cancelled_at", read_only=True)
    paused = serializers.DateTimeField(source="paused_at", read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id", "customer", "document", "currency", "frequency", "date_start", "trial_end",
            "billing_anchor", "next_billing", "previous_billing", "billing_cycles",
            "next_billing_cycle", "expiration_days", "collection_scheme", "default_source",
            "custom_change", "coupon", "orgunit", "require_reference", "note", "status",
            "status_description", "needs_attention", "needs_attention_reason",
            "cancel_reason", "cancel_at_period_end", "cancelled", "paused", "paused_reason",
            "pause_until", "lines", "ended_lines", "addons", "references", "metadata",
            "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = [
            "frequency", "next_billing", "previous_billing", "status", "status_description",
            "needs_attention_reason", "cancel_reason", "paused_reason", "pause_until",
        ]  # fmt: skip

    read_only_set_by: ClassVar[dict[str, str]] = {
        "status": "The status changes with the pause and resume actions and with DELETE, "
        "which cancels.",
    }

    def get_next_billing_cycle(self, subscription: Subscription) -> int | None:
        return next_billing_cycle(subscription)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None:
            # Set on update (Stripe's `cancel_at_period_end`); a new subscription has no
            # billed period to end, so on create it is ignored as read-only fields are.
            attrs.pop("cancel_at_period_end", None)
        if self.instance is not None:
            errors = {
                name: ["Fixed when the subscription is created."]
                for name in CREATE_ONLY
                if name in attrs and not _same(name, attrs[name], getattr(self.instance, name))
            }
            if errors:
                raise serializers.ValidationError(errors)
            for name in CREATE_ONLY:
                attrs.pop(name, None)
        return attrs


def next_billing_cycle(subscription: Subscription) -> int | None:
    """The number of the next invoice (1 for the first); null once none is due: also
    while the last period billed runs, its next billing ending it (its cycles done, or
    cancelled at period end)."""
    if subscription.next_billing is None or is_last_billing(subscription):
        return None
    return subscription.cycles_billed + 1


def _same(name: str, given: Any, stored: Any) -> bool:
    if name == "billing_anchor" and isinstance(given, int):
        return bool(given == stored.day)  # the day it was created with
    return bool(given == stored)


def subscription_snapshot(subscription: Subscription) -> dict[str, Any]:
    """The subscription as the API shows it."""
    return snapshot(SubscriptionSerializer, subscription_queryset().get(pk=subscription.pk))


_SCALARS = (
    "id", "customer_id", "status", "next_billing", "previous_billing", "billing_cycles",
    "collection_scheme", "needs_attention_reason", "cancel_reason", "test_mode",
)  # fmt: skip


def subscription_cycle_snapshot(
    subscription: Subscription, invoice_id: str | None
) -> dict[str, Any]:
    """A cheap snapshot for cycle events, built from the row in memory: the billing
    state after the cycle and the invoice it issued."""
    data = {name.removesuffix("_id"): _plain(getattr(subscription, name)) for name in _SCALARS}
    data["next_billing_cycle"] = next_billing_cycle(subscription)
    data["invoice"] = invoice_id
    return data


def _plain(value: Any) -> Any:
    """A scalar as JSON reads it back (json_data), without the round trip a cycle would
    pay per subscription: dates as ISO text, choices as their plain text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str.__str__(value)
    return value
