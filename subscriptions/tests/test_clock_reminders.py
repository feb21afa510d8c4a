"""Reminders on the test clock: advancing it past an invoice's due date sends each rule's
reminder on its own day, as beat would have on a real clock, not all of them at once on
the day the clock stops."""

from datetime import date, timedelta

import pytest
from django.core import mail

from invoices.tests.factories import InvoiceFactory
from reminders.models import ReminderMessage
from reminders.tests.factories import ReminderRuleFactory, ReminderTemplateFactory
from subscriptions.calendar import local_midnight
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import customer_of, santiago, workspace_at

pytestmark = pytest.mark.django_db


def test_an_advance_sends_each_reminder_on_its_day_once():
    start = santiago(2026, 3, 2, 9, 0)
    workspace = workspace_at(start)
    template = ReminderTemplateFactory(
        workspace=workspace, test_mode=True, subject="Factura {number}: {days} días"
    )
    for days in (-3, 0, 5):
        ReminderRuleFactory(
            workspace=workspace, test_mode=True, days=days, template=template, started_at=start
        )
    InvoiceFactory(
        workspace=workspace, test_mode=True, customer=customer_of(workspace),
        status="finalized", number=7, date=date(2026, 3, 2), due_date=date(2026, 3, 12),
        finalized_at=start,
    )  # fmt: skip

    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 3, 31, 9, 0))
    clock_advance(workspace=workspace, test_mode=True, now=santiago(2026, 3, 31, 9, 0),
                  to=santiago(2026, 4, 30, 9, 0))  # fmt: skip

    sent = ReminderMessage.objects.order_by("sent_at")
    assert [(m.sent_at, m.subject, m.status) for m in sent] == [
        (local_midnight(day, workspace.timezone), f"Factura 7: {days} días", "sent")
        for day, days in ((date(2026, 3, 9), 3), (date(2026, 3, 12), 0), (date(2026, 3, 17), 5))
    ]
    assert len(mail.outbox) == 3


def test_reminders_already_due_when_the_clock_moves_go_out_first():
    start = santiago(2026, 3, 9, 9, 0)
    workspace = workspace_at(start)
    ReminderRuleFactory(workspace=workspace, test_mode=True, days=-3, started_at=start)
    InvoiceFactory(
        workspace=workspace, test_mode=True, customer=customer_of(workspace),
        status="finalized", number=1, due_date=date(2026, 3, 12), finalized_at=start,
    )  # fmt: skip

    clock_advance(workspace=workspace, test_mode=True, now=start, to=start + timedelta(days=20))

    assert list(ReminderMessage.objects.values_list("sent_at", flat=True)) == [start]
