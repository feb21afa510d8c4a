"""After the invoice: charging the default source with retries, emailing, and the tax
agency's rejection, each ending in needs-attention when it cannot succeed."""

from datetime import timedelta

import pytest
from django.core import mail

from billing.choices import BillerStatus
from billing.clock import clock_now
from billing.errors import InvalidInput
from billing.models import Event, Workspace
from invoices.services.filing import _finish
from payments.gateways import sandbox
from payments.gateways.base import CardInput
from payments.models import Payment, Source
from payments.services import (
    source_create_sandbox_card,
    source_disable,
    source_save_card_for_customer,
)
from subscriptions import services, tasks
from subscriptions.choices import CollectionStatus, NeedsAttentionReason, SubscriptionStatus
from subscriptions.models import BilledPeriod
from subscriptions.selectors import periods_collect_due_ids
from subscriptions.services import cycles
from subscriptions.services.collection import period_collect
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db


def _charged_subscription(card: str):  # type: ignore[no-untyped-def]
    now = santiago(2026, 3, 1, 9, 0)
    workspace = workspace_at(now)
    customer = customer_of(workspace)
    source = source_create_sandbox_card(
        customer=customer, card_number=card, exp_month=12, exp_year=2030, now=now
    )
    subscription = subscribe(
        workspace, now, [(plan_of(workspace), 1)], customer=customer,
        collection_scheme="charge_payment", default_source=source,
    )  # fmt: skip
    return workspace, subscription, BilledPeriod.objects.get(subscription=subscription)


def _move_clock(workspace: Workspace, to) -> None:  # type: ignore[no-untyped-def]
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=to)


def test_the_default_source_is_charged_once() -> None:
    workspace, subscription, period = _charged_subscription(sandbox.SUCCEEDS)
    assert period.invoice.collection_method == "automatically"
    assert periods_collect_due_ids(now=clock_now(workspace=workspace, test_mode=False)) == [
        period.pk
    ]

    assert period_collect(period_id=period.pk, clock=clock_now) == CollectionStatus.SUCCEEDED
    # A duplicate message finds nothing to do.
    assert period_collect(period_id=period.pk, clock=clock_now) is None

    period.refresh_from_db()
    assert period.collection_status == CollectionStatus.SUCCEEDED
    assert period.collected_at == santiago(2026, 3, 1, 9, 0)
    assert period.invoice.status == "paid"
    assert Payment.objects.filter(subscription_id=subscription.id, status="succeeded").count() == 1


def test_a_declined_card_is_retried_at_1_3_5_7_days_then_needs_attention() -> None:
    workspace, subscription, period = _charged_subscription(sandbox.DECLINED)
    first = santiago(2026, 3, 1, 9, 0)
    attempts_at = [first + timedelta(days=d) for d in (0, 1, 3, 5, 7)]
    for attempt, at in enumerate(attempts_at):
        _move_clock(workspace, at - timedelta(minutes=1))
        assert period_collect(period_id=period.pk, clock=clock_now) is None  # not due yet
        _move_clock(workspace, at)
        outcome = period_collect(period_id=period.pk, clock=clock_now)
        assert outcome == (CollectionStatus.FAILED if attempt == 4 else CollectionStatus.PENDING)
    period.refresh_from_db()
    assert period.collection_attempts == 5
    assert period.last_error == "card_declined"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.NEEDS_ATTENTION
    assert subscription.needs_attention_reason == NeedsAttentionReason.GATEWAY_ISSUE
    assert subscription.needs_attention_at == attempts_at[-1]  # the workspace's clock
    assert Payment.objects.filter(subscription_id=subscription.id, status="failed").count() == 5
    assert Event.objects.filter(
        object_id=subscription.id, type="subscription.needs_attention"
    ).exists()


def test_send_invoice_emails_the_invoice() -> None:
    now = santiago(2026, 3, 1, 9, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    period = BilledPeriod.objects.get(subscription=subscription)
    assert period_collect(period_id=period.pk, clock=clock_now) == CollectionStatus.SUCCEEDED
    [message] = mail.outbox
    assert message.to == ["billing@cliente.cl"]
    assert str(period.invoice.number) in message.subject


def test_a_reviewed_draft_is_collected_once_finalized() -> None:
    from invoices.services.invoices import invoice_finalize

    now = santiago(2026, 3, 1, 9, 0)
    workspace = workspace_at(now, review_cycle_invoices=True)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    period = BilledPeriod.objects.get(subscription=subscription)
    assert periods_collect_due_ids(now=now) == []
    invoice_finalize(invoice=period.invoice, now=now)
    assert periods_collect_due_ids(now=now) == [period.pk]
    assert period_collect(period_id=period.pk, clock=clock_now) == CollectionStatus.SUCCEEDED
    assert len(mail.outbox) == 1


def test_a_tax_agency_rejection_puts_the_subscription_in_needs_attention() -> None:
    now = santiago(2026, 3, 1, 9, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    invoice = BilledPeriod.objects.get(subscription=subscription).invoice
    reason = {"code": "customer_tax_id_invalid", "field": "customer_tax_id",
              "message": "RUT receptor inválido"}  # fmt: skip
    rejected_at = now + timedelta(hours=1)
    _finish(invoice, BillerStatus.FAILED, {"reasons": [reason]}, rejected_at)  # as filing does
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.NEEDS_ATTENTION
    assert subscription.needs_attention_reason == NeedsAttentionReason.BILLER_ISSUE
    assert subscription.needs_attention_at == rejected_at
    assert "RUT receptor inválido (customer_tax_id_invalid)" in subscription.status_description


def test_the_cycle_names_its_invoices_to_the_collection_task(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """The message carries the batch's invoices; the task finds their periods."""
    queued: list[dict] = []
    monkeypatch.setattr(
        cycles, "task_queue_or_leave", lambda name, *, kwargs: queued.append({name: kwargs})
    )
    with django_capture_on_commit_callbacks(execute=True):
        period = _charged_subscription(sandbox.SUCCEEDS)[2]
    [message] = [m for m in queued if "subscriptions.tasks.collect_periods" in m]
    kwargs = message["subscriptions.tasks.collect_periods"]
    assert kwargs == {"invoice_ids": [period.invoice_id]}

    assert tasks.collect_periods(**kwargs) == 1
    period.refresh_from_db()
    assert period.collection_status == CollectionStatus.SUCCEEDED
    # The older message shape still works (and finds nothing left to do).
    assert tasks.collect_periods(period_ids=[period.pk]) == 0


def _subscription_without_default_source(  # type: ignore[no-untyped-def]
    card: str | None, *, removed: bool = False
):
    now = santiago(2026, 3, 1, 9, 0)
    workspace = workspace_at(now)
    customer = customer_of(workspace)
    if card is not None:
        saved = source_save_card_for_customer(
            customer=customer, card=CardInput(number=card, exp_month=12, exp_year=2030), now=now
        )
        if removed:
            source_disable(source=saved)
    subscription = subscribe(
        workspace, now, [(plan_of(workspace), 1)], customer=customer,
        collection_scheme="charge_payment",
    )  # fmt: skip
    return subscription, BilledPeriod.objects.get(subscription=subscription)


def test_without_a_default_source_the_customers_default_card_is_taken_and_charged() -> None:
    subscription, period = _subscription_without_default_source(sandbox.SUCCEEDS)
    card = Source.objects.get(customer=subscription.customer, default=True)
    assert subscription.default_source == card  # named on the subscription from the start

    assert period_collect(period_id=period.pk, clock=clock_now) == CollectionStatus.SUCCEEDED

    period.refresh_from_db()
    assert period.invoice.status == "paid"
    payment = Payment.objects.get(subscription_id=subscription.id)
    assert payment.status == "succeeded"
    assert payment.source == card


def test_charge_payment_without_a_source_or_a_default_card_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        _subscription_without_default_source(None)

    assert "no default card" in str(refused.value.errors["default_source"])
    assert not BilledPeriod.objects.exists()


def test_a_removed_default_card_is_no_longer_the_default_nor_taken() -> None:
    with pytest.raises(InvalidInput) as refused:
        _subscription_without_default_source(sandbox.SUCCEEDS, removed=True)

    assert "no default card" in str(refused.value.errors["default_source"])
    assert not Source.objects.filter(default=True).exists()


@pytest.mark.parametrize("source_kind", ["single_use", "removed"])
def test_a_source_that_cannot_be_charged_every_period_is_refused(source_kind: str) -> None:
    # A single-use card is consumed by its first charge and a removed one by none: every
    # later cycle would fail. Stripe's default_payment_method must be a saved card too.
    now = santiago(2026, 3, 1, 9, 0)
    workspace = workspace_at(now)
    customer = customer_of(workspace)
    source = source_create_sandbox_card(
        customer=customer, card_number=sandbox.SUCCEEDS, exp_month=12, exp_year=2030, now=now,
        usage="single" if source_kind == "single_use" else "reusable",
    )  # fmt: skip
    if source_kind == "removed":
        source = source_disable(source=source)
    kept = subscribe(workspace, now, [(plan_of(workspace), 1)], customer=customer)

    with pytest.raises(InvalidInput) as refused:
        subscribe(
            workspace, now, [(plan_of(workspace), 1)], customer=customer,
            collection_scheme="charge_payment", default_source=source,
        )  # fmt: skip
    with pytest.raises(InvalidInput) as refused_on_update:
        services.subscription_update(
            subscription=kept, now=now, collection_scheme="charge_payment", default_source=source
        )

    for error in (refused, refused_on_update):
        assert "cannot be charged every period" in str(error.value.errors["default_source"])
    assert BilledPeriod.objects.filter(subscription__default_source=source).count() == 0
