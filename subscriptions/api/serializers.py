from rest_framework import serializers

from billing.representations import StrictFieldsMixin, WorkspaceDateTimeField, quantity_field
from invoices.choices import LineType
from subscriptions.choices import CancelReason, PausedReason


class SubscriptionPauseSerializer(StrictFieldsMixin, serializers.Serializer):
    paused_reason = serializers.ChoiceField(
        choices=PausedReason.choices, default=PausedReason.NOT_SPECIFIED
    )
    pause_until = serializers.DateField(
        required=False, allow_null=True, help_text="Billing resumes by itself on this date."
    )


class SubscriptionCancelSerializer(StrictFieldsMixin, serializers.Serializer):
    cancel_reason = serializers.ChoiceField(
        choices=CancelReason.choices, default=CancelReason.NOT_SPECIFIED
    )
    at_period_end = serializers.BooleanField(
        default=False,
        help_text="Keep the period already billed and cancel when it ends; that period's usage "
        "(metered lines) is billed then, on a final invoice.",
    )
    prorate = serializers.BooleanField(
        default=False,
        help_text="Cancel now and credit the unused days of the billed period running today "
        "with a finalized credit note on the invoice that billed them. Not with "
        "at_period_end (400). Cancelled now, with or without it, the usage of metered lines "
        "up to now is billed on a final invoice.",
    )


class TestClockSerializer(serializers.Serializer):
    now = serializers.DateTimeField(read_only=True, help_text="The test mode's time.")
    frozen = serializers.BooleanField(
        read_only=True, help_text="false while the test clock follows the real one."
    )
    timezone = serializers.CharField(read_only=True)


class TestClockAdvanceSerializer(StrictFieldsMixin, serializers.Serializer):
    advance_to = WorkspaceDateTimeField(
        help_text="Move the clock here, running every cycle due on the way."
    )


class UpcomingLineSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    quantity = quantity_field(normalize_output=True)
    amount = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)
    total = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)
    plan = serializers.CharField(source="plan_id", allow_null=True)
    line_type = serializers.ChoiceField(
        choices=LineType.choices, help_text="fixed: a plan's price; usage: a metered plan's usage."
    )


class UpcomingInvoiceSerializer(serializers.Serializer):
    """What the next cycle would bill if it ran now."""

    subscription = serializers.CharField(source="subscription.pk")
    currency = serializers.CharField(source="invoice.currency_id")
    period_start = serializers.DateField(source="invoice.period_start")
    period_end = serializers.DateField(source="invoice.period_end")
    usage_start = serializers.DateField(allow_null=True, help_text="Usage counted from here…")
    usage_until = serializers.DateTimeField(help_text="…up to now (or the period's end).")
    lines = UpcomingLineSerializer(many=True)
    amount = serializers.DecimalField(
        source="invoice.amount", max_digits=24, decimal_places=6, normalize_output=True
    )
    exempt = serializers.DecimalField(
        source="invoice.exempt", max_digits=24, decimal_places=6, normalize_output=True
    )
    discount = serializers.DecimalField(
        source="invoice.discount",
        max_digits=24,
        decimal_places=6,
        normalize_output=True,
        help_text="The subscription's coupon, as an invoice's discount.",
    )
    discount_scheme = serializers.CharField(source="invoice.discount_scheme")
    discount_amount = serializers.DecimalField(
        source="invoice.discount_amount", max_digits=24, decimal_places=6, normalize_output=True
    )
    subtotal = serializers.DecimalField(
        source="invoice.subtotal", max_digits=24, decimal_places=6, normalize_output=True
    )
    tax = serializers.DecimalField(
        source="invoice.tax", max_digits=24, decimal_places=6, normalize_output=True
    )
    total = serializers.DecimalField(
        source="invoice.total", max_digits=24, decimal_places=6, normalize_output=True
    )


class TestClockJobSerializer(serializers.Serializer):
    """An advance of the test clock a worker runs (`Prefer: respond-async`)."""

    id = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=["running", "succeeded", "failed"], read_only=True)
    started_from = serializers.DateTimeField(read_only=True)
    advance_to = serializers.DateTimeField(read_only=True)
    progress = serializers.FloatField(
        read_only=True, help_text="How far the clock has got, from 0 to 1."
    )
    error = serializers.DictField(
        read_only=True, allow_null=True, help_text='{"code", "detail"} when it failed.'
    )
    url = serializers.CharField(read_only=True, help_text="Poll this until it is finished.")
    created = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
