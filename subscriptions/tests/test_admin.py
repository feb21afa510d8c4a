"""The back office: subscription pages render, the needs-attention filter, and the actions
call the same services as the API on the subscription's test clock."""

import re
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from billing.models import Event, Workspace
from billing.tests.admin_helpers import rendered_form_data
from subscriptions import services
from subscriptions.choices import NeedsAttentionReason, SubscriptionStatus
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.models import TestClockJob as ClockJob
from subscriptions.tests.helpers import addon_of, plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db

START = santiago(2026, 3, 10, 9, 0)
CHANGELIST = "admin:subscriptions_subscription_changelist"


@pytest.fixture
def workspace() -> Workspace:
    return workspace_at(START)


@pytest.fixture
def subscription(workspace: Workspace) -> Subscription:
    """Active, one line, one add-on, its first cycle billed on Mar 10."""
    return subscribe(
        workspace,
        START,
        [(plan_of(workspace), 2)],
        addons=[{"addon": addon_of(workspace), "quantity": 1}],
        note="Plan anual",
    )


def _act(admin_client, action: str, *subscriptions: Subscription) -> str:
    """Run an action from the changelist; the messages shown after it, one per line, each
    prefixed with its level."""
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [s.pk for s in subscriptions]},
        follow=True,
    )
    assert response.status_code == 200
    return "\n".join(f"{m.level_tag}: {m}" for m in response.context["messages"])


def _events(subscription: Subscription) -> list[str]:
    return list(
        Event.objects.filter(object_id=subscription.id).order_by("created_at", "id")
        .values_list("type", flat=True)
    )  # fmt: skip


def _state(subscription: Subscription) -> tuple:
    subscription.refresh_from_db()
    return (
        subscription.status, subscription.next_billing, subscription.cycles_billed,
        subscription.paused_at, subscription.cancelled_at, subscription.updated_at,
        BilledPeriod.objects.filter(subscription=subscription).count(), _events(subscription),
    )  # fmt: skip


def _hidden_inputs(html: str) -> dict[str, str]:
    """The inlines' management forms and row ids, as the browser posts them back."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def test_changelist_and_change_page_show_lines_addons_and_billed_periods(
    admin_client, subscription
):
    listed = admin_client.get(reverse(CHANGELIST))
    shown = admin_client.get(
        reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    )

    assert listed.status_code == 200
    assert subscription.id in listed.content.decode()
    assert shown.status_code == 200
    html = shown.content.decode()
    line, addon = subscription.lines.get(), subscription.addons.get()
    assert str(line.plan) in html
    assert str(addon.addon) in html
    period = BilledPeriod.objects.get(subscription=subscription)
    assert str(period.invoice) in html
    assert "March 10, 2026" in html  # the billed period's start


def test_the_change_page_shows_a_removed_line_whose_usage_is_still_to_bill(admin_client, workspace):
    fixed = plan_of(workspace, name="Base")
    calls = plan_of(workspace, 150, name="Calls", usage_scheme="metered")
    subscription = subscribe(workspace, START, [(fixed, 1), (calls, 1)])
    change = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    heading = "Removed lines with usage to bill"

    def section() -> str:
        html = admin_client.get(change).content.decode()
        for name in ("plan", "usage_start", "ended_on", "DELETE"):
            assert f'name="ended_lines-0-{name}"' not in html  # shown, never edited
        return html.split(heading)[1].split("</table>")[0]

    assert str(calls) not in section()
    removed_at = santiago(2026, 3, 20, 9, 0)
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=removed_at)
    services.subscription_update(subscription=subscription, now=removed_at, lines=[{"plan": fixed}])
    shown = section()

    assert str(calls) in shown
    assert "March 10, 2026" in shown  # the usage's start
    assert "March 20, 2026" in shown  # the day it was removed


def test_the_needs_attention_filter_lists_only_flagged_subscriptions(
    admin_client, workspace, subscription
):
    flagged = subscribe(workspace, START, [(plan_of(workspace), 1)])
    services.subscription_flag(
        subscription_id=flagged.id,
        reason=NeedsAttentionReason.GATEWAY_ISSUE,
        description="The card was declined four times.",
        now=datetime(2026, 4, 1, tzinfo=UTC),
    )

    attention = admin_client.get(reverse(CHANGELIST), {"needs_attention": "yes"})
    others = admin_client.get(reverse(CHANGELIST), {"needs_attention": "no"})

    assert attention.status_code == others.status_code == 200
    assert [s.id for s in attention.context["cl"].result_list] == [flagged.id]
    assert [s.id for s in others.context["cl"].result_list] == [subscription.id]


def test_pause_then_resume_on_the_test_clock_record_their_events(
    admin_client, workspace, subscription
):
    html = _act(admin_client, "pause", subscription)

    subscription.refresh_from_db()
    assert html == "success: Paused 1 subscription(s)."
    assert subscription.status == SubscriptionStatus.PAUSED
    assert subscription.paused_at == START  # the workspace's clock, not the real one
    assert _events(subscription)[-1] == "subscription.paused"

    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=santiago(2026, 5, 3, 9, 0))
    html = _act(admin_client, "resume", subscription)

    subscription.refresh_from_db()
    assert html == "success: Resumed 1 subscription(s)."
    assert subscription.status == SubscriptionStatus.ACTIVE
    # Apr 10 passed while paused: billing continues at the next boundary, May 10.
    assert subscription.next_billing == date(2026, 5, 10)
    assert _events(subscription)[-1] == "subscription.resumed"


def test_process_bills_the_due_cycle_once_then_says_nothing_is_due(
    admin_client, workspace, subscription
):
    # The clock reaches the boundary without beat having run the cycle.
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=santiago(2026, 4, 10, 8, 0))

    billed = _act(admin_client, "process", subscription)
    before = _state(subscription)
    again = _act(admin_client, "process", subscription)

    assert billed == "success: Billed 1 subscription(s)."
    periods = BilledPeriod.objects.filter(subscription=subscription).order_by("period_start")
    assert [p.period_start for p in periods] == [date(2026, 3, 10), date(2026, 4, 10)]
    assert subscription.next_billing == date(2026, 5, 10)
    assert subscription.cycles_billed == 2
    assert again.startswith(f"error: {subscription.id}: Subscription {subscription.id} has no")
    assert "has no cycle due: it is active" in again
    assert "next billing 2026-05-10" in again
    assert "Billed" not in again
    assert _state(subscription) == before


def test_cancel_now_on_the_test_clock(admin_client, workspace, subscription):
    html = _act(admin_client, "cancel", subscription)

    subscription.refresh_from_db()
    assert html == "success: Cancelled 1 subscription(s)."
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == START
    assert subscription.next_billing is None
    assert _events(subscription)[-1] == "subscription.cancelled"


@pytest.mark.parametrize(
    ("action", "prepare", "why"),
    [
        ("resume", lambda s, now: None, "is active and cannot become active."),
        (
            "pause",
            lambda s, now: services.subscription_cancel(subscription=s, now=now),
            "is cancelled and cannot become paused.",
        ),
        (
            "cancel",
            lambda s, now: services.subscription_cancel(subscription=s, now=now),
            "is cancelled already.",
        ),
        (
            "process",
            lambda s, now: services.subscription_pause(subscription=s, now=now),
            "has no cycle due: it is paused, next billing 2026-04-10.",
        ),
    ],
)
def test_a_refused_action_shows_the_error_and_changes_nothing(
    admin_client, subscription, action, prepare, why
):
    prepare(subscription, START)
    before = _state(subscription)

    html = _act(admin_client, action, subscription)

    assert html == f"error: {subscription.id}: Subscription {subscription.id} {why}"
    assert _state(subscription) == before


def test_an_action_on_several_reports_each_refusal_and_does_the_rest(
    admin_client, workspace, subscription
):
    paused = subscribe(workspace, START, [(plan_of(workspace), 1)])
    services.subscription_pause(subscription=paused, now=START)

    html = _act(admin_client, "resume", subscription, paused)

    assert "success: Resumed 1 subscription(s)." in html
    assert f"error: {subscription.id}: Subscription {subscription.id} is active" in html
    paused.refresh_from_db()
    subscription.refresh_from_db()
    assert (paused.status, subscription.status) == ("active", "active")


def test_there_is_no_add_or_delete(admin_client, subscription):
    add = admin_client.get(reverse("admin:subscriptions_subscription_add"))
    delete = admin_client.post(
        reverse("admin:subscriptions_subscription_delete", args=[subscription.pk]),
        {"post": "yes"},
    )
    bulk = admin_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "_selected_action": [subscription.pk], "post": "yes"},
    )

    assert add.status_code == delete.status_code == 403
    assert bulk.status_code in (200, 302)  # not an action here: the admin says so
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_a_change_form_post_changes_the_note_and_nothing_of_billing(admin_client, subscription):
    """Billing terms change only through the service (it checks the cycles already billed
    and the collection source); the form shows them and ignores posted values."""
    before = _state(subscription)
    change = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])

    form = admin_client.get(change).content.decode()
    response = admin_client.post(
        change,
        {
            **_hidden_inputs(form),
            "billing_cycles": "1",
            "expiration_days": "0",
            "collection_scheme": "charge_payment",
            "custom_change": "5",
            "require_reference": "on",
            "status": "cancelled",
            "cycles_billed": "0",
            "next_billing": "2030-01-01",
            "references": '[{"x": 1}]',
            "metadata": "[1]",
            "note": "Plan anual 2026",
        },
    )

    assert 'name="note"' in form
    for name in ("billing_cycles", "collection_scheme", "custom_change", "metadata"):
        assert f'name="{name}"' not in form
    assert response.status_code == 302, response.content.decode()[:3000]
    subscription.refresh_from_db()
    assert subscription.note == "Plan anual 2026"
    assert (subscription.billing_cycles, subscription.expiration_days) == (None, 10)
    assert subscription.collection_scheme == "send_invoice"
    assert subscription.custom_change == 1
    assert subscription.require_reference is False
    assert (subscription.references, subscription.metadata) == ([], {})
    after = _state(subscription)
    assert after[:5] == before[:5]  # status, next billing, cycles, paused, cancelled
    assert after[6] == before[6]  # no period billed
    assert after[7] == [*before[7], "subscription.updated"]  # the note's change


def test_a_running_test_clock_job_shows_how_far_it_has_got(admin_client, workspace) -> None:  # type: ignore[no-untyped-def]
    job = ClockJob.objects.create(
        workspace=workspace, test_mode=True, started_from=START,
        advance_to=santiago(2026, 3, 20, 9, 0),
    )  # fmt: skip
    # Each step of the advance commits the clock: a quarter of the way.
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=santiago(2026, 3, 12, 21, 0))

    listed = admin_client.get(reverse("admin:subscriptions_testclockjob_changelist"))
    page = admin_client.get(reverse("admin:subscriptions_testclockjob_change", args=[job.pk]))

    for response in (listed, page):
        assert response.status_code == 200
        html = response.content.decode()
        assert re.search(r'<progress value="0\.250" max="1" title="25%">25%</progress> 25%', html)


def _post_change(admin_client, subscription: Subscription, **changes):
    url = reverse("admin:subscriptions_subscription_change", args=[subscription.pk])
    page = admin_client.get(url)
    return admin_client.post(url, rendered_form_data(page, **changes))


def test_the_note_is_changed_through_the_update_service(admin_client, subscription):
    response = _post_change(admin_client, subscription, note="Plan anual 2026")

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.note == "Plan anual 2026"


def test_a_cancelled_subscription_is_refused_on_the_form_as_in_the_api(admin_client, subscription):
    services.subscription_cancel(subscription=subscription, now=START)

    response = _post_change(admin_client, subscription, note="Changed after the end")

    assert response.status_code == 200
    assert "it can no longer change" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.note == "Plan anual"
