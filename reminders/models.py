"""Dunning by email: templates, the rules that use them, and the messages sent."""

from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field
from billing.json_fields import ListJSONField
from billing.models import TenantModel
from reminders.choices import Language, MessageStatus


class ReminderTemplate(TenantModel):
    """A reminder's subject and body, in one language, with {placeholders}."""

    id = public_id_field("rmt")
    name = models.CharField(max_length=128)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ES)
    subject = models.CharField(max_length=255)
    body = models.TextField()

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class ReminderRule(TenantModel):
    """Remind about unpaid invoices `days` from their due date (negative: before it)
    with a template; `documents` limits it to some document types (empty: all)."""

    id = public_id_field("rmr")
    name = models.CharField(max_length=128)
    days = models.SmallIntegerField()
    template = models.ForeignKey(ReminderTemplate, on_delete=models.PROTECT, related_name="+")
    documents = ListJSONField(
        api_field="reminders.representations.ReminderRuleSerializer.documents", blank=True
    )
    active = models.BooleanField(default=True)
    # When the rule began reminding, on the workspace's clock (a test clock in test mode):
    # its creation, or its last switch back to active. Reminders whose day came before it
    # are not sent.
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ({self.days:+d} days)"


class ReminderMessage(TenantModel):
    """One reminder of one invoice by one rule: at most one per (rule, invoice), a
    database constraint, so beat never sends a rule's reminder twice."""

    id = public_id_field("rmm")
    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, related_name="messages")
    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="+")
    recipients = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder, default=list)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.SENDING
    )
    error = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["rule", "invoice"], name="reminder_once_per_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} → {self.invoice_id} ({self.status})"
