"""Which unpaid invoices each rule reminds about, and when."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import QuerySet

from billing.clock import workspace_today
from billing.models import Workspace
from invoices.choices import InvoiceStatus
from invoices.models import Invoice
from invoices.selectors import invoice_amount_due_expression
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate


@dataclass(frozen=True)
class Pending:
    """A reminder a rule will send: the invoice, and the day it goes out."""

    rule: ReminderRule
    invoice: Invoice
    send_date: date
    amount_due: Decimal


def template_queryset() -> QuerySet[ReminderTemplate]:
    return ReminderTemplate.objects.all()


def rule_queryset() -> QuerySet[ReminderRule]:
    return ReminderRule.objects.select_related("template")


def message_queryset() -> QuerySet[ReminderMessage]:
    return ReminderMessage.objects.all()


def _reminded_on(rule: ReminderRule, invoice: Invoice) -> date | None:
    """The day the rule reminds of the invoice, if it does: a reminder goes out on its
    day, so none whose day passed before the rule started (a new rule does not dun the
    whole backlog, nor a rule switched back on the days it was off) or before the
    invoice was finalized (an invoice issued late is not
    told it falls due in three days, nor sent every reminder it missed at once)."""
    if invoice.due_date is None:
        return None
    day = invoice.due_date + timedelta(days=rule.days)
    started = [rule.started_at, invoice.finalized_at]
    if any(day < workspace_today(rule.workspace, at) for at in started if at is not None):
        return None
    return day


def _pendings(rule: ReminderRule, invoices: Iterable[Invoice]) -> list[Pending]:
    return [
        Pending(rule, invoice, day, invoice.amount_due)  # type: ignore[attr-defined]
        for invoice in invoices
        if (day := _reminded_on(rule, invoice)) is not None
    ]


def rule_pendings(rule: ReminderRule, *, until: date | None = None) -> list[Pending]:
    """The rule's unsent reminders: finalized invoices with something due, of its
    document types, on their reminder day (due date + `days`; `_reminded_on`) or after it
    up to `until` when given. Oldest reminder day first."""
    started = workspace_today(rule.workspace, rule.started_at)
    invoices = (
        Invoice.objects.filter(
            workspace_id=rule.workspace_id,
            test_mode=rule.test_mode,
            status=InvoiceStatus.FINALIZED,
            due_date__gte=started - timedelta(days=rule.days),
        )
        .exclude(pk__in=ReminderMessage.objects.filter(rule=rule).values("invoice_id"))
        .annotate(amount_due=invoice_amount_due_expression())
        .filter(amount_due__gt=0)
        .select_related("customer", "document", "workspace")
        .order_by("due_date", "id")
    )
    if rule.documents:
        invoices = invoices.filter(document_id__in=rule.documents)
    if until is not None:
        invoices = invoices.filter(due_date__lte=until - timedelta(days=rule.days))
    return _pendings(rule, invoices)


def rules_pendings(rules: QuerySet[ReminderRule]) -> list[Pending]:
    """The pendings of these rules (one tenant's), by the day they go out. Read in a fixed
    number of queries however many rules there are: the candidate invoices and the
    reminders already sent are read once and matched to each rule here."""
    chosen = list(rules.select_related("workspace"))
    if not chosen:
        return []
    first = chosen[0]
    earliest = {
        rule.id: workspace_today(rule.workspace, rule.started_at) - timedelta(days=rule.days)
        for rule in chosen
    }
    invoices = list(
        Invoice.objects.filter(
            workspace_id=first.workspace_id,
            test_mode=first.test_mode,
            status=InvoiceStatus.FINALIZED,
            due_date__gte=min(earliest.values()),
        )
        .annotate(amount_due=invoice_amount_due_expression())
        .filter(amount_due__gt=0)
        .select_related("customer", "document", "workspace")
        .order_by("due_date", "id")
    )
    sent = set(ReminderMessage.objects.filter(rule__in=chosen).values_list("rule_id", "invoice_id"))
    pendings = [
        pending
        for rule in chosen
        for pending in _pendings(
            rule,
            (
                invoice
                for invoice in invoices
                if (not rule.documents or invoice.document_id in rule.documents)
                and (rule.id, invoice.id) not in sent
            ),
        )
    ]
    return sorted(pendings, key=lambda p: (p.send_date, p.invoice.id, p.rule.id))


def reminders_next_send_date(*, workspace: Workspace, test_mode: bool, after: date) -> date | None:
    """The first day after `after` on which the workspace's active rules send a reminder,
    as its invoices stand now: where a test clock that advances must stop."""
    rules = ReminderRule.objects.filter(workspace=workspace, test_mode=test_mode, active=True)
    days = [pending.send_date for pending in rules_pendings(rules) if pending.send_date > after]
    return min(days, default=None)
