"""Factories of the reminders app's models."""

import factory
from django.utils import timezone

from billing.tests.factories import TenantFactory
from invoices.tests.factories import InvoiceFactory
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate


class ReminderTemplateFactory(TenantFactory):
    class Meta:
        model = ReminderTemplate

    name = factory.Sequence(lambda n: f"Recordatorio {n}")
    subject = "Factura {number} vence el {due_date}"
    body = "Estimado(a) {customer_name}: quedan {amount_due} por pagar."


class ReminderRuleFactory(TenantFactory):
    class Meta:
        model = ReminderRule

    name = factory.Sequence(lambda n: f"Regla {n}")
    days = 3
    started_at = factory.LazyFunction(timezone.now)
    template = factory.SubFactory(
        ReminderTemplateFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )


class ReminderMessageFactory(TenantFactory):
    class Meta:
        model = ReminderMessage

    rule = factory.SubFactory(
        ReminderRuleFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    invoice = factory.SubFactory(
        InvoiceFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    recipients = ["pagos@example.com"]
    subject = "Recordatorio"
    body = "Quedan montos por pagar."
    status = "sent"


FACTORIES: dict[type, type[TenantFactory]] = {
    ReminderTemplate: ReminderTemplateFactory,
    ReminderRule: ReminderRuleFactory,
    ReminderMessage: ReminderMessageFactory,
}
