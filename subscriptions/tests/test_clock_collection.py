"""Collection on the test clock: charges, retries and emails run at the clock's time as
it advances, with no lock of ours held while the gateway is called; proration invoices
are collected like cycle invoices."""

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction

from billing.models import Event, Workspace
from invoices.models import Invoice
from payments.gateways import sandbox
from payments.models import Payment
from payments.services import source_create_sandbox_card
from subscriptions import services
from subscriptions.choices import (
    BilledKind,
    CollectionStatus,
    NeedsAttentionReason,
    SubscriptionStatus,
)
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.services.clocks import clock_advance
from subscriptions.services.collection import _claim, period_collect
from subscriptions.services.cycles import fixed_clock
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at

D = Decimal


def _card_subscription(card: str, start: datetime) -> tuple[Workspace, Subscription]:
    workspace = workspace_at(start)
    customer = customer_of(workspace)
    source = source_create_sandbox_card(
        customer=customer, card_number=card, exp_month=12, exp_year=2030, now=start
    )
    subscription = subscribe(
        workspace, start, [(plan_of(workspace, name="Basic"), 1)], customer=customer,
        collection_scheme="charge_payment", default_source=source,
    )  # fmt: skip
    return workspace, subscription


def _locked_elsewhere(workspace_id: str, subscription_id: str) -> list[str]:
    """Which of our rows another connection cannot lock right now (NOWAIT)."""
    held: list[str] = []

    def probe() -> None:
        try:
            for name, queryset in (
                ("workspace", Workspace.objects.filter(pk=workspace_id)),
                ("subscription", Subscription.objects.filter(pk=subscription_id)),
                ("billed periods", BilledPeriod.objects.filter(subscription_id=subscription_id)),
            ):
                try:
                    with transaction.atomic():
                        list(queryset.select_for_update(nowait=True))
                except Exception:
                    held.append(name)
        finally:
            connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return held


@pytest.fixture
def charges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[datetime, list[str]]]:
    """Each sandbox charge: the workspace's clock when it was made, and which of our rows
    were locked meanwhile."""
    made: list[tuple[datetime, list[str]]] = []
    charge = sandbox.SandboxGateway.charge

    def recording(self: Any, **kwargs: Any) -> Any:
        payment = Payment.objects.get(pk=kwargs["reference"])
        subscription = Subscription.objects.get(pk=payment.subscription_id)
        workspace = Workspace.objects.get(pk=subscription.workspace_id)
        assert workspace.test_clock_at is not None
        made.append((workspace.test_clock_at, _locked_elsewhere(workspace.pk, subscription.pk)))
        return charge(self, **kwargs)

    monkeypatch.setattr(sandbox.SandboxGateway, "charge", recording)
    return made


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_declining_card_is_retried_on_the_clock_then_the_subscription_needs_attention(
    charges: list[tuple[datetime, list[str]]],
) -> None:
    # Arrange: monthly from Mar 1, 09:00, on a card the sandbox declines.
    start = santiago(2026, 3, 1, 9, 0)
    workspace, subscription = _card_subscription(sandbox.DECLINED, start)

    # Act: a year on the test clock.
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2027, 3, 1, 9, 0))

    # Assert: the first charge when the clock starts, retries 1, 3, 5 and 7 days after
    # it, each at the clock's time of the attempt and with none of our rows locked.
    assert charges == [(start + timedelta(days=days), []) for days in (0, 1, 3, 5, 7)]
    period = BilledPeriod.objects.get(subscription=subscription)
    assert (period.collection_status, period.collection_attempts, period.last_error) == (
        CollectionStatus.FAILED, 5, "card_declined",
    )  # fmt: skip
    assert period.first_failed_at == start
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.NEEDS_ATTENTION
    assert subscription.needs_attention_reason == NeedsAttentionReason.GATEWAY_ISSUE
    assert "after 5 attempts: card_declined" in subscription.status_description
    # Billing stopped when it needed attention: no invoice after March's.
    assert Invoice.objects.filter(subscription_id=subscription.id).count() == 1
    assert list(
        Payment.objects.filter(subscription_id=subscription.id)
        .order_by("created_at")
        .values_list("status", "date")
    ) == [("failed", (start + timedelta(days=days)).date()) for days in (0, 1, 3, 5, 7)]
    assert Event.objects.filter(
        object_id=subscription.id, type="subscription.needs_attention"
    ).exists()
    workspace.refresh_from_db()
    assert workspace.test_clock_at == santiago(2027, 3, 1, 9, 0)


@pytest.mark.django_db
def test_a_card_that_succeeds_pays_each_invoice_at_its_own_clock_time(
    charges: list[tuple[datetime, list[str]]],
) -> None:
    start = santiago(2026, 1, 31, 9, 0)
    workspace, subscription = _card_subscription(sandbox.SUCCEEDS, start)

    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 12, 31, 8, 0))

    # Jan 31 at creation, then each month end at local midnight, as it is billed.
    month_ends = [date(2026, m, 28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31)
                  for m in range(2, 13)]  # fmt: skip
    billed_at = [start] + [santiago(d.year, d.month, d.day, 0, 0) for d in month_ends]
    assert [at for at, _ in charges] == billed_at
    periods = BilledPeriod.objects.filter(subscription=subscription).order_by("period_start")
    assert [(p.collection_status, p.collected_at, p.collection_attempts) for p in periods] == [
        (CollectionStatus.SUCCEEDED, at, 1) for at in billed_at
    ]
    assert all(p.invoice.status == "paid" for p in periods)
    assert Payment.objects.filter(subscription_id=subscription.id, status="succeeded").count() == 12
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


@pytest.mark.django_db
def test_retries_are_days_after_the_first_failure_even_when_one_runs_late() -> None:
    start = santiago(2026, 3, 1, 9, 0)
    _, subscription = _card_subscription(sandbox.DECLINED, start)
    period = BilledPeriod.objects.get(subscription=subscription)

    period_collect(period_id=period.pk, clock=fixed_clock(start))
    # The day-1 retry runs a day late (workers were down): day 3 stays day 3.
    period_collect(period_id=period.pk, clock=fixed_clock(start + timedelta(days=2, hours=5)))
    period.refresh_from_db()
    assert period.next_attempt_at == start + timedelta(days=3)
    # So late that day 5 has passed too: the next is due at once, not two days later.
    period_collect(period_id=period.pk, clock=fixed_clock(start + timedelta(days=6)))
    period.refresh_from_db()
    assert period.next_attempt_at == start + timedelta(days=6)
    assert period.collection_attempts == 3


def _upgrade(workspace: Workspace, subscription: Subscription, at: datetime) -> BilledPeriod:
    premium = plan_of(workspace, 30000, name="Premium")
    services.subscription_update(
        subscription=subscription, now=at, lines=[{"plan": premium, "quantity": D(1)}]
    )
    return BilledPeriod.objects.get(subscription=subscription, kind=BilledKind.PRORATION)


@pytest.mark.django_db
def test_a_proration_invoice_is_charged_with_the_same_retries(
    charges: list[tuple[datetime, list[str]]],
) -> None:
    # Basic (10,000) from Apr 1; on Apr 16 the plan becomes Premium (30,000): the rest of
    # April is invoiced, 15/30 of 30,000 = 15,000 + IVA.
    start = santiago(2026, 4, 1, 9, 0)
    workspace, subscription = _card_subscription(sandbox.SUCCEEDS, start)
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 4, 16, 9, 0))
    change = santiago(2026, 4, 16, 9, 0)

    proration = _upgrade(workspace, subscription, change)

    assert (proration.period_start, proration.period_end, proration.cycle) == (
        date(2026, 4, 16), date(2026, 5, 1), 1,
    )  # fmt: skip
    assert (proration.collection_status, proration.next_attempt_at) == (
        CollectionStatus.PENDING, change,
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=change, to=change + timedelta(hours=1))
    proration.refresh_from_db()
    assert (proration.collection_status, proration.collected_at) == (
        CollectionStatus.SUCCEEDED, change,
    )  # fmt: skip
    assert proration.invoice.status == "paid"
    assert proration.invoice.total == D(17850)
    assert [at for at, _ in charges] == [start, change]


@pytest.mark.django_db
def test_a_declined_proration_charge_is_retried_then_needs_attention() -> None:
    start = santiago(2026, 4, 1, 9, 0)
    workspace, subscription = _card_subscription(sandbox.DECLINED, start)
    BilledPeriod.objects.filter(subscription=subscription).update(
        collection_status=CollectionStatus.SUCCEEDED, next_attempt_at=None
    )  # April's invoice settled some other way
    change = santiago(2026, 4, 16, 9, 0)
    proration = _upgrade(workspace, subscription, change)

    clock_advance(workspace=workspace, test_mode=True, now=change, to=santiago(2026, 4, 30, 9, 0))

    proration.refresh_from_db()
    assert (proration.collection_status, proration.collection_attempts) == (
        CollectionStatus.FAILED, 5,
    )  # fmt: skip
    assert proration.first_failed_at == change
    failed = Payment.objects.filter(subscription_id=subscription.id, status="failed")
    assert sorted(failed.values_list("date", flat=True)) == [
        (change + timedelta(days=days)).date() for days in (0, 1, 3, 5, 7)
    ]
    subscription.refresh_from_db()
    assert subscription.needs_attention_reason == NeedsAttentionReason.GATEWAY_ISSUE


@pytest.mark.django_db
def test_a_proration_invoice_is_emailed_for_send_invoice() -> None:
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, name="Basic"), 1)])
    change = santiago(2026, 4, 16, 9, 0)
    clock_advance(workspace=workspace, test_mode=True, now=start, to=change)
    assert len(mail.outbox) == 1  # April's invoice, when the clock started

    proration = _upgrade(workspace, subscription, change)
    clock_advance(workspace=workspace, test_mode=True, now=change, to=change + timedelta(hours=1))

    proration.refresh_from_db()
    assert (proration.collection_status, proration.collected_at) == (
        CollectionStatus.SUCCEEDED, change,
    )  # fmt: skip
    assert len(mail.outbox) == 2
    assert str(proration.invoice.number) in mail.outbox[1].subject
    assert (
        proration.invoice.number
        != BilledPeriod.objects.get(subscription=subscription, kind=BilledKind.CYCLE).invoice.number
    )


@pytest.mark.django_db
def test_an_advance_leaves_an_email_a_worker_is_sending_to_it_and_bills_what_follows() -> None:
    # Arrange: monthly from Apr 1, emailed; a worker has claimed April's period and is
    # sending it (on the real clock, for as long as an email takes).
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, name="Basic"), 1)])
    april = BilledPeriod.objects.get(subscription=subscription)
    assert _claim(april.pk, fixed_clock(start)) is not None

    # Act: the clock jumps two months, far past any lease counted on it.
    clock_advance(workspace=workspace, test_mode=True, now=start, to=santiago(2026, 6, 1, 9, 0))

    # Assert: April's email is left to its worker; May and June are billed and sent.
    periods = BilledPeriod.objects.filter(subscription=subscription).order_by("period_start")
    assert [p.period_start for p in periods] == [
        date(2026, 4, 1),
        date(2026, 5, 1),
        date(2026, 6, 1),
    ]
    sent = {message.subject for message in mail.outbox}
    assert len(mail.outbox) == 2
    assert not any(str(april.invoice.number) in subject.split() for subject in sent)
    april.refresh_from_db()
    assert april.collection_status == CollectionStatus.PENDING
    assert april.collection_attempts == 0


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_advance_waits_for_a_step_another_run_holds_and_never_skips_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from billing.errors import DomainError
    from subscriptions.services import clocks

    monkeypatch.setattr(clocks, "BUSY_RETRIES", 3)
    monkeypatch.setattr(clocks, "BUSY_WAIT_SECONDS", 0.01)
    start = santiago(2026, 4, 1, 9, 0)
    workspace = workspace_at(start)
    subscription = subscribe(workspace, start, [(plan_of(workspace, name="Basic"), 1)])
    clock_advance(workspace=workspace, test_mode=True, now=start, to=start + timedelta(hours=1))
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:  # another run billing the same subscription, taking its time
        try:
            with transaction.atomic():
                list(Subscription.objects.filter(pk=subscription.pk).select_for_update())
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    try:
        with pytest.raises(DomainError) as raised:
            clock_advance(
                workspace=workspace, test_mode=True, now=start + timedelta(hours=1),
                to=santiago(2026, 7, 1, 9, 0),
            )  # fmt: skip
    finally:
        release.set()
        holder.join()

    assert raised.value.code == "test_clock_busy"
    workspace.refresh_from_db()
    # Stopped where May's cycle is due, with May still to bill: not moved past it.
    assert workspace.test_clock_at == santiago(2026, 5, 1, 0, 0)
    assert BilledPeriod.objects.filter(subscription=subscription).count() == 1
    clock_advance(
        workspace=workspace, test_mode=True, now=workspace.test_clock_at,
        to=santiago(2026, 7, 1, 9, 0),
    )  # fmt: skip
    assert BilledPeriod.objects.filter(subscription=subscription).count() == 4  # to July
