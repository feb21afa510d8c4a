"""What reminder templates, rules, messages and pendings look like to the outside."""

from typing import ClassVar

from rest_framework import serializers

from billing.models import DocumentType
from billing.representations import TenantModelSerializer
from reminders.choices import MAX_DAYS, MIN_DAYS, PLACEHOLDERS
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate


class ReminderTemplateSerializer(TenantModelSerializer):
    subject = serializers.CharField(
        max_length=255,
        help_text="Placeholders: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + ".",
    )
    body = serializers.CharField(help_text="The same placeholders as the subject.")

    class Meta:
        model = ReminderTemplate
        fields = [
            "id", "name", "language", "subject", "body", "metadata", "test_mode", "created",
            "updated",
        ]  # fmt: skip


class ReminderRuleSerializer(TenantModelSerializer):
    days = serializers.IntegerField(
        min_value=MIN_DAYS, max_value=MAX_DAYS,
        help_text="Days from the due date: negative before it, positive after, 0 on it.",
    )  # fmt: skip
    documents = serializers.ListField(
        # A document type's id is a database integer: a larger one is no id (and SQLite
        # cannot even look it up).
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        help_text="Document type ids it reminds about; empty: every invoice.",
    )

    class Meta:
        model = ReminderRule
        fields = [
            "id", "name", "days", "template", "documents", "active", "metadata", "test_mode",
            "created", "updated",
        ]  # fmt: skip

    def validate_documents(self, value: list[int]) -> list[int]:
        known = set(DocumentType.objects.filter(pk__in=value).values_list("pk", flat=True))
        unknown = [pk for pk in value if pk not in known]
        if unknown:
            raise serializers.ValidationError(f"No document type {unknown[0]}.")
        return value


class ReminderMessageSerializer(TenantModelSerializer):
    class Meta:
        model = ReminderMessage
        fields = [
            "id", "rule", "invoice", "recipients", "subject", "body", "status", "error",
            "sent_at", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = [name for name in fields if name != "metadata"]

    read_only_set_by: ClassVar[dict[str, str]] = {
        "status": "A message's status follows its sending.",
    }


class ReminderPendingSerializer(serializers.Serializer):
    """A reminder a rule will send, and the day it goes out."""

    rule = serializers.CharField(source="rule.id")
    invoice = serializers.CharField(source="invoice.id")
    customer = serializers.CharField(source="invoice.customer_id")
    due_date = serializers.DateField(source="invoice.due_date")
    send_date = serializers.DateField()
    amount_due = serializers.DecimalField(max_digits=24, decimal_places=6, normalize_output=True)
    currency = serializers.CharField(source="invoice.currency_id")
