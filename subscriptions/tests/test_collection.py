"""After the invoice: charging the default source with retries, emailing, and the tax
agency's rejection, each ending in needs-attention when it cannot succeed."""

from datetime import timedelta

import pytest
from django.core import mail

from billing.choices import BillerStatus
from billing.clock import clock_now
from billing.models import Event, Workspace
from invoices.services.filing import _finish
from payments.gateways import sandbox
from payments.gateways.base import CardInput
from payments.models import Payment
from payments.services import source_create_sandbox_card, source_save_card_for_customer
from subscriptions.choices import CollectionStatus, NeedsAttentionReason, SubscriptionStatus
from subscriptions.models import BilledPeriod
from subscriptions.selectors import periods_collect_due_ids
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


def _subscription_without_default_source(card: str | None):  # type: ignore[no-untyped-def]
    now = santiago(2026, 3, 1, 9, 0)
    workspace = workspace_at(now)
    customer = customer_of(workspace)
    if card is not None:
        source_save_card_for_customer(
            customer=customer, card=CardInput(number=card, exp_month=12, exp_year=2030), now=now
        )
    subscription = subscribe(
        workspace, now, [(plan_of(workspace), 1)], customer=customer,
        collection_scheme="charge_payment",
    )  # fmt: skip
    return subscription, BilledPeriod.objects.get(subscription=subscription)


def test_without_a_default_source_the_customers_default_card_is_charged() -> None:
    subscription, period = _subscription_without_default_source(sandbox.SUCCEEDS)

    assert period_collect(period_id=period.pk, clock=clock_now) == CollectionStatus.SUCCEEDED

    period.refresh_from_db()
    assert period.invoice.status == "paid"
    payment = Payment.objects.get(subscription_id=subscription.id)
    assert payment.status == "succeeded"
    assert payment.source is not None and payment.source.default
    assert payment.source.customer_id == subscription.customer_id


def test_without_any_card_the_charge_follows_the_dunning_path() -> None:
    subscription, period = _subscription_without_default_source(None)

    assert period_collect(period_id=period.pk, clock=clock_now) == CollectionStatus.PENDING

    period.refresh_from_db()
    assert period.collection_attempts == 1
    assert "default source" in period.last_error
    assert period.next_attempt_at == santiago(2026, 3, 2, 9, 0)  # retried a day later
    assert period.invoice.status == "finalized"
    assert not Payment.objects.filter(subscription_id=subscription.id).exists()
