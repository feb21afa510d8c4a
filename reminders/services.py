"""Writes of reminder templates and rules, and the beat's sending of due reminders.

Each reminder is sent at most once: the message row (unique per rule and invoice) is
committed before the email goes out, so a second beat run, a duplicate task or a retry
finds it and sends nothing. A crash between the two leaves the message `sending`, shown
as such, rather than risk a second email to the customer.
"""

import logging
import smtplib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction

from billing.clock import workspace_today
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Workspace
from customers.models import Customer
from customers.selectors import customer_collection_recipients
from invoices.mail import workspace_email
from invoices.pdf.context import format_money, labels_for
from reminders.choices import MAX_DAYS, MIN_DAYS, MessageStatus
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate
from reminders.rendering import (
    TemplateError,
    subject_check,
    subject_line,
    template_check,
    template_render,
)
from reminders.selectors import Pending, rule_pendings

logger = logging.getLogger(__name__)


def _set(obj: Any, fields: Mapping[str, object]) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)


# Templates


class TemplateFields(TypedDict, total=False):
    """What a template's create or update may set (ReminderTemplateSerializer's writable
    fields)."""

    name: str
    language: str
    subject: str
    body: str
    metadata: dict[str, Any]


def _check_placeholders(template: ReminderTemplate) -> None:
    errors: dict[str, list[str]] = {}
    for field, check in (("subject", subject_check), ("body", template_check)):
        try:
            check(getattr(template, field))
        except TemplateError as exc:
            errors[field] = [str(exc)]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def template_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[TemplateFields]
) -> ReminderTemplate:
    template = ReminderTemplate(workspace=workspace, test_mode=test_mode, **fields)
    _check_placeholders(template)
    template.save()
    return template


@transaction.atomic
def template_update(
    *, template: ReminderTemplate, **fields: Unpack[TemplateFields]
) -> ReminderTemplate:
    locked = ReminderTemplate.objects.select_for_update().get(pk=template.pk)
    _set(locked, fields)
    _check_placeholders(locked)
    locked.save()
    return locked


@transaction.atomic
def template_delete(*, template: ReminderTemplate) -> None:
    try:
        with transaction.atomic():
            template.delete()
    except IntegrityError as exc:  # ProtectedError is one
        raise DomainError(
            "reminder_template_in_use",
            f"Template {template.id} is used by a rule; change the rule's template first.",
        ) from exc


# Rules


class RuleFields(TypedDict, total=False):
    """What a rule's create or update may set (ReminderRuleSerializer's writable fields)."""

    name: str
    days: int
    template: ReminderTemplate
    documents: list[int]
    active: bool
    metadata: dict[str, Any]


class MessageFields(TypedDict, total=False):
    """What a sent reminder's update may set: its metadata only."""

    metadata: dict[str, Any]


def _check_rule(rule: ReminderRule) -> None:
    errors: dict[str, list[str]] = {}
    if not MIN_DAYS <= rule.days <= MAX_DAYS:
        errors["days"] = [f"Between {MIN_DAYS} (before the due date) and {MAX_DAYS} (after)."]
    # A rule reminds of invoices: one for another type (a purchase, a credit note) would
    # never remind.
    types = DocumentType.objects.in_bulk(rule.documents)
    for pk in rule.documents:
        if pk not in types:
            errors["documents"] = [f"No document type {pk}."]
            break
        if not types[pk].is_invoice_type:
            errors["documents"] = [f"{types[pk]} is not an invoice document type."]
            break
    rule.documents = list(dict.fromkeys(rule.documents))
    # The API only offers the caller's templates; the back office lists every tenant's.
    template = rule.template
    if (template.workspace_id, template.test_mode) != (rule.workspace_id, rule.test_mode):
        errors["template"] = [f"No template {template.pk}."]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def rule_create(
    *, workspace: Workspace, test_mode: bool, now: datetime, **fields: Unpack[RuleFields]
) -> ReminderRule:
    """`now`: the workspace's time; the rule reminds from that day on."""
    rule = ReminderRule(workspace=workspace, test_mode=test_mode, started_at=now, **fields)
    _check_rule(rule)
    rule.save()
    return rule


@transaction.atomic
def rule_update(*, rule: ReminderRule, now: datetime, **fields: Unpack[RuleFields]) -> ReminderRule:
    """A rule switched back to active reminds from `now` on, not of the days it was off."""
    locked = ReminderRule.objects.select_for_update().get(pk=rule.pk)
    if fields.get("active") and not locked.active:
        locked.started_at = now
    _set(locked, fields)
    _check_rule(locked)
    locked.save()
    return locked


@transaction.atomic
def rule_delete(*, rule: ReminderRule) -> None:
    """A rule that sent reminders is kept with them: deactivate it instead."""
    if rule.messages.exists():
        raise DomainError(
            "reminder_rule_in_use",
            f"Rule {rule.id} has sent reminders and is kept with them; "
            'set "active": false to stop it.',
        )
    rule.delete()


@transaction.atomic
def message_update(*, message: ReminderMessage, **fields: Unpack[MessageFields]) -> ReminderMessage:
    """A sent reminder's metadata; what was sent does not change."""
    locked = ReminderMessage.objects.select_for_update().get(pk=message.pk)
    _set(locked, fields)
    locked.save()
    return locked


# Sending

SUBJECT_MAX_LENGTH = ReminderMessage._meta.get_field("subject").max_length


def _render(pending: Pending, today: date) -> tuple[str, str]:
    """`today`: the day the reminder goes out, in the workspace's clock. `{days}` counts
    from it to the due date (or from the due date to it), as the customer reads it that
    day: a reminder sent late says how late the invoice really is, not the rule's days."""
    invoice, template = pending.invoice, pending.rule.template
    text = labels_for(invoice.workspace.country_id)
    values = {
        "customer_name": invoice.customer.name,
        "issuer": invoice.workspace.name,
        "document": invoice.document.name,
        "number": invoice.number,
        "date": invoice.date.strftime(text["date_format"]),
        "due_date": invoice.due_date.strftime(text["date_format"]) if invoice.due_date else "",
        "days": abs((today - invoice.due_date).days) if invoice.due_date else "",
        "total": format_money(invoice.total_adjusted, invoice.currency_id),
        "amount_due": format_money(pending.amount_due, invoice.currency_id),
        "currency": invoice.currency_id,
    }
    subject = subject_line(template_render(template.subject, values))
    # The placeholders' values may take a subject past its column.
    return subject[:SUBJECT_MAX_LENGTH], template_render(template.body, values)


def _message_fields(pending: Pending, today: date) -> dict[str, Any]:
    """What the reminder says; a template that does not render (stored before templates
    were checked) makes a failed message that keeps its text and says why."""
    try:
        subject, body = _render(pending, today)
    except TemplateError as exc:
        template = pending.rule.template
        return {
            "subject": template.subject,
            "body": template.body,
            "status": MessageStatus.FAILED,
            "error": f"Template {template.id}: {exc}"[:255],
        }
    return {"subject": subject, "body": body}


def _no_recipients_reason(customer: Customer) -> str:
    if not customer.send_collections:
        return f"Customer {customer.id} opted out of collection emails."
    return f"Customer {customer.id} has no email and no collections contact with one."


def _claim(pending: Pending, recipients: list[str], today: date) -> ReminderMessage | None:
    fields = _message_fields(pending, today)
    if not recipients:
        # Recorded as skipped, so the reminder leaves the pendings rather than being
        # looked at by every beat run forever.
        customer = pending.invoice.customer
        fields.update(status=MessageStatus.SKIPPED, error=_no_recipients_reason(customer)[:255])
    try:
        with transaction.atomic():
            return ReminderMessage.objects.create(
                workspace_id=pending.rule.workspace_id,
                test_mode=pending.rule.test_mode,
                rule=pending.rule,
                invoice=pending.invoice,
                recipients=recipients,
                **fields,
            )
    except IntegrityError:  # another run claimed it first
        return None


def _send(message: ReminderMessage, workspace: Workspace, now: datetime) -> None:
    email = workspace_email(
        workspace, subject=message.subject, body=message.body, to=message.recipients, now=now
    )
    try:
        email.send()
    except Exception as exc:  # whatever stops the email, the message says so, not `sending`
        if not isinstance(exc, smtplib.SMTPException | OSError):
            logger.exception("Reminder message %s could not be sent", message.id)
        reason = str(exc) or type(exc).__name__
        message.status, message.error = MessageStatus.FAILED, reason[:255]
    else:
        message.status, message.sent_at = MessageStatus.SENT, now
    message.save(update_fields=["status", "error", "sent_at", "updated_at"])


def _remind(
    pending: Pending, workspace: Workspace, now: datetime, today: date
) -> ReminderMessage | None:
    """Sends one reminder unless it was sent; one with no one to go to is recorded as
    skipped. The message recorded, or None when another run recorded it first."""
    recipients = customer_collection_recipients(customer=pending.invoice.customer)
    message = _claim(pending, recipients, today)
    if message is not None and message.status == MessageStatus.SENDING:
        _send(message, workspace, now)
    return message


def _rule_remind_due(rule: ReminderRule, now: datetime) -> list[ReminderMessage]:
    messages = []
    today = workspace_today(rule.workspace, now)
    for pending in rule_pendings(rule, until=today):
        try:
            message = _remind(pending, rule.workspace, now, today)
        except Exception:  # one reminder that fails must not stop the others
            logger.exception("Reminder of %s by rule %s failed", pending.invoice.id, rule.id)
            continue
        if message is not None:
            messages.append(message)
    return messages


def _tried(messages: list[ReminderMessage]) -> int:
    """How many of `messages` were emailed or tried (the skipped had no one to go to)."""
    return sum(message.status != MessageStatus.SKIPPED for message in messages)


def reminders_send_due(*, clock: Callable[..., datetime]) -> int:
    """Send every reminder due by today in its workspace's clock (`clock(workspace=…,
    test_mode=…)`); returns how many were sent or tried. A rule or a reminder that fails
    is logged and the run goes on: one workspace's row never stops the others'."""
    count = 0
    for rule in ReminderRule.objects.filter(active=True).select_related("template", "workspace"):
        try:
            now = clock(workspace=rule.workspace, test_mode=rule.test_mode)
            count += _tried(_rule_remind_due(rule, now))
        except Exception:  # reading the rule's pendings failed: the other rules go on
            logger.exception("Reminders of rule %s failed", rule.id)
    return count


def reminders_send_due_for(*, workspace: Workspace, test_mode: bool, now: datetime) -> int:
    """Send the reminders of one workspace and mode due by the day of `now`, its clock's
    time (a test clock stopping on that day); returns how many it recorded, skipped ones
    included."""
    rules = ReminderRule.objects.filter(
        workspace=workspace, test_mode=test_mode, active=True
    ).select_related("template", "workspace")
    return sum(len(_rule_remind_due(rule, now)) for rule in rules)
