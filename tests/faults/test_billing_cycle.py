"""A worker killed mid-way through a billing cycle of 1,000 subscriptions: once
restarted, every period is billed exactly once, on gapless invoice numbers (G2, G4, G12)."""

import pytest
from django.db.models import Count

from billing.services.workspaces import workspace_create
from invoices.models import Invoice
from subscriptions.models import BilledPeriod, Subscription
from subscriptions.tasks import run_billing_cycles
from tests.faults.arrange import add_due_subscriptions
from tests.faults.helpers import sweeping, wait_until, worker_env
from tests.workers import running_worker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SUBSCRIPTIONS = 1000


def test_a_cycle_survives_a_worker_killed_mid_way(broker, tmp_path, figures):
    workspace = workspace_create(name="Ciclos", country_code="CL", tax_id="76086428-5")
    add_due_subscriptions(workspace, SUBSCRIPTIONS)
    periods = BilledPeriod.objects.filter(subscription__workspace=workspace)
    env = worker_env(tmp_path / "media")

    # One thread: the cycle's batches run one after another, and the kill lands after the
    # first has committed, in the middle of the next.
    with running_worker(tmp_path, extra_env=env, concurrency=1) as worker:
        run_billing_cycles.delay()
        wait_until(lambda: periods.exists(), timeout=120, what="a first billed batch")
        worker.kill()
    at_kill = periods.count()

    with (
        running_worker(tmp_path, extra_env=env, concurrency=2),
        sweeping([run_billing_cycles], every=1.0),
    ):
        recovery = wait_until(
            lambda: periods.count() >= SUBSCRIPTIONS,
            timeout=120,
            what="every subscription billed",
            every=0.5,
        )

    invoices = Invoice.objects.filter(workspace=workspace, test_mode=False)
    numbers = sorted(invoices.values_list("number", flat=True))
    twice = periods.values("subscription", "period_start").annotate(n=Count("id")).filter(n__gt=1)
    cycles = set(
        Subscription.objects.filter(workspace=workspace).values_list("cycles_billed", flat=True)
    )
    billed = periods.values("subscription").distinct().count()
    figures(
        tries=SUBSCRIPTIONS,
        held=billed,
        lost=SUBSCRIPTIONS - billed,
        billed_twice=twice.count(),
        invoices=len(numbers),
        periods_at_kill=at_kill,
        recovery_seconds=round(recovery, 1),
    )
    assert at_kill < SUBSCRIPTIONS, "the kill came after the whole cycle"
    assert periods.count() == SUBSCRIPTIONS
    assert not twice.exists()
    assert cycles == {1}
    assert numbers == list(range(1, SUBSCRIPTIONS + 1))
