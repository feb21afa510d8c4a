"""`manage.py run_cycles`: bills what beat would, through the same service, so neither
bills a period the other has; a bar of subscriptions on a terminal, none otherwise."""

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from subscriptions.models import BilledPeriod
from subscriptions.tasks import bill_subscriptions
from subscriptions.tests.helpers import plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _three_periods_behind():  # type: ignore[no-untyped-def]
    """A subscription billed on Jan 15 whose tenant's clock now reads Apr 20."""
    start = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, 10000), 1)])
    workspace.test_clock_at = santiago(2026, 4, 20, 9, 0)
    workspace.save(update_fields=["test_clock_at"])
    return workspace, subscription


def _billed(subscription) -> list[date]:  # type: ignore[no-untyped-def]
    periods = BilledPeriod.objects.filter(subscription=subscription).order_by("period_start")
    return list(periods.values_list("period_start", flat=True))


def test_bills_every_due_period_of_the_workspace_named_and_no_other() -> None:
    workspace, subscription = _three_periods_behind()
    _, elsewhere = _three_periods_behind()
    out = io.StringIO()

    call_command("run_cycles", "--workspace", workspace.id, stdout=out, stderr=io.StringIO())

    assert _billed(subscription) == [
        date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15), date(2026, 4, 15),
    ]  # fmt: skip
    assert _billed(elsewhere) == [date(2026, 1, 15)]
    assert "Billed 3 period(s) of 1 subscription(s); 0 due were not billed" in out.getvalue()


def test_a_period_billed_by_the_command_is_not_billed_again_by_it_or_by_beat() -> None:
    _, subscription = _three_periods_behind()
    call_command("run_cycles", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()

    call_command("run_cycles", stdout=out, stderr=io.StringIO())

    assert "Billed 0 period(s) of 0 subscription(s)" in out.getvalue()
    # Beat's task on the same subscription finds nothing due either.
    assert bill_subscriptions(subscription_ids=[subscription.id]) == 0
    assert len(_billed(subscription)) == 4


def test_the_command_bills_nothing_beat_has_billed() -> None:
    workspace, subscription = _three_periods_behind()
    assert bill_subscriptions(subscription_ids=[subscription.id]) == 1  # Feb 15, as beat does
    out = io.StringIO()

    call_command("run_cycles", "--workspace", workspace.id, stdout=out, stderr=io.StringIO())

    assert "Billed 2 period(s)" in out.getvalue()
    assert _billed(subscription) == [
        date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15), date(2026, 4, 15),
    ]  # fmt: skip


def test_a_terminal_gets_a_bar_of_subscriptions_billed() -> None:
    workspace, _ = _three_periods_behind()
    terminal = Terminal()

    call_command("run_cycles", "--workspace", workspace.id, stdout=io.StringIO(), stderr=terminal)

    drawn = terminal.getvalue()
    assert "\r" in drawn  # redrawn in place
    assert "100%" in drawn
    assert "Billing: 100%" in drawn
    assert "3/3 subscriptions" in drawn


@pytest.mark.parametrize(
    ("stderr", "arguments"), [(Terminal, ["--no-progress"]), (io.StringIO, [])]
)
def test_no_bar_with_no_progress_or_off_a_terminal(stderr, arguments) -> None:  # type: ignore[no-untyped-def]
    workspace, subscription = _three_periods_behind()
    err = stderr()

    call_command(
        "run_cycles", "--workspace", workspace.id, *arguments, stdout=io.StringIO(), stderr=err
    )

    assert err.getvalue() == ""
    assert len(_billed(subscription)) == 4


def test_an_unknown_workspace_is_an_error() -> None:
    with pytest.raises(CommandError, match="No workspace acc_nope"):
        call_command("run_cycles", "--workspace", "acc_nope", stdout=io.StringIO())
