"""Writes of reminder templates and rules, and the beat's sending of due reminders.

Each reminder is sent at most once: the message row (unique per rule and invoice) is
committed before the email goes out, so a second beat run, a duplicate task or a retry
finds it and sends nothing. A crash between the two leaves the message `sending`, shown
as such, rather than risk a second email to the customer.
"""

import logging
import smtplib
import string
from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import formataddr
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction

from billing.clock import workspace_today
from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from invoices.pdf.context import format_money, labels_for
from reminders.choices import MAX_DAYS, MIN_DAYS, PLACEHOLDERS, MessageStatus
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate
from reminders.selectors import Pending, collection_recipients, rule_pendings

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
    for field in ("subject", "body"):
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(getattr(template, field))]
        except ValueError as exc:  # an unmatched brace
            errors[field] = [f"{exc}; write a literal brace as {{{{ or }}}}."]
            continue
        unknown = sorted({n for n in names if n is not None and n not in PLACEHOLDERS})
        if unknown:
            errors[field] = [
                f"Unknown placeholder {{{unknown[0]}}}; the placeholders are "
                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                + "."
            ]
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
    if not MIN_DAYS <= rule.days <= MAX_DAYS:
        raise InvalidInput(
            {"days": [f"Between {MIN_DAYS} (before the due date) and {MAX_DAYS} (after)."]}
        )


@transaction.atomic
def rule_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[RuleFields]
) -> ReminderRule:
    rule = ReminderRule(workspace=workspace, test_mode=test_mode, **fields)
    _check_rule(rule)
    rule.save()
    return rule


@transaction.atomic
def rule_update(*, rule: ReminderRule, **fields: Unpack[RuleFields]) -> ReminderRule:
    locked = ReminderRule.objects.select_for_update().get(pk=rule.pk)
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


def _render(pending: Pending) -> tuple[str, str]:
    invoice, template = pending.invoice, pending.rule.template
    text = labels_for(invoice.workspace.country_id)
    values = {
        "customer_name": invoice.customer.name,
        "issuer": invoice.workspace.name,
        "document": invoice.document.name,
        "number": invoice.number,
        "date": invoice.date.strftime(text["date_format"]),
        "due_date": invoice.due_date.strftime(text["date_format"]) if invoice.due_date else "",
        "days": abs(pending.rule.days),
        "total": format_money(invoice.total_adjusted, invoice.currency_id),
        "amount_due": format_money(pending.amount_due, invoice.currency_id),
        "currency": invoice.currency_id,
    }
    return template.subject.format_map(values), template.body.format_map(values)


def _claim(pending: Pending, recipients: list[str], now: datetime) -> ReminderMessage | None:
    subject, body = _render(pending)
    try:
        with transaction.atomic():
            return ReminderMessage.objects.create(
                workspace_id=pending.rule.workspace_id,
                test_mode=pending.rule.test_mode,
                rule=pending.rule,
                invoice=pending.invoice,
                recipients=recipients,
                subject=subject,
                body=body,
            )
    except IntegrityError:  # another run claimed it first
        return None


def _send(message: ReminderMessage, workspace: Workspace, now: datetime) -> None:
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=formataddr((workspace.name, settings.DEFAULT_FROM_EMAIL)),
        to=message.recipients,
    )
    try:
        email.send()
    except (smtplib.SMTPException, OSError) as exc:
        message.status, message.error = MessageStatus.FAILED, str(exc)[:255]
    else:
        message.status, message.sent_at = MessageStatus.SENT, now
    message.save(update_fields=["status", "error", "sent_at", "updated_at"])


def reminders_send_due(*, clock: Callable[..., datetime]) -> int:
    """Send every reminder due by today in its workspace's clock (`clock(workspace=…,
    test_mode=…)`); returns how many were sent or tried."""
    count = 0
    for rule in ReminderRule.objects.filter(active=True).select_related("template", "workspace"):
        now = clock(workspace=rule.workspace, test_mode=rule.test_mode)
        for pending in rule_pendings(rule, until=workspace_today(rule.workspace, now)):
            recipients = collection_recipients(pending.invoice.customer)
            if not recipients:
                continue
            message = _claim(pending, recipients, now)
            if message is not None:
                _send(message, rule.workspace, now)
                count += 1
    return count
