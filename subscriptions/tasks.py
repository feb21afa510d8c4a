"""Thin tasks: each makes one domain call, on each tenant's clock. All are safe to run
twice and concurrently (cycles lock their rows and re-check they are still due), and ignore
keyword arguments they do not know (a message from an older or newer release during a deploy)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from billing.clock import clock_now, real_now
from billing.services import events
from subscriptions import selectors, services
from subscriptions.services import clocks, collection, cycles

# Beat fans out at most this many batches per run; the next run takes the rest.
_MAX_BATCHES_PER_RUN = 50


@shared_task
def run_billing_cycles(**_: object) -> int:
    """Beat: fan out the due subscriptions in batches."""
    size = cycles.BATCH_SIZE
    due = cycles.cycle_claim_due(now=real_now(), limit=size * _MAX_BATCHES_PER_RUN)
    for start in range(0, len(due), size):
        bill_subscriptions.delay(subscription_ids=due[start : start + size])
    return len(due)


@shared_task
def bill_subscriptions(subscription_ids: list[str], **_: object) -> int:
    return len(cycles.cycle_bill_due(subscription_ids=subscription_ids, clock=clock_now))


@shared_task
def resume_paused_subscriptions(**_: object) -> int:
    """Beat: subscriptions whose pause_until has come resume (on live mode's clock; test
    clocks resume them as they advance)."""
    now = real_now()
    return services.subscriptions_resume_due(
        subscription_ids=selectors.subscriptions_resume_due_ids(now=now), now=now
    )


@shared_task
def collect_due_periods(**_: object) -> int:
    """Beat: charge or email the billed periods whose attempt is due."""
    due = selectors.periods_collect_due_ids(now=real_now())
    if due:
        collect_periods.delay(period_ids=due)
    return len(due)


@shared_task
def collect_periods(
    period_ids: list[int] | None = None, invoice_ids: list[str] | None = None, **_: object
) -> int:
    """Collect these periods, or the periods of these invoices (a cycle's batch)."""
    if invoice_ids:
        period_ids = [*(period_ids or []), *cycles.periods_of_invoices(invoice_ids)]
    done = 0
    for period_id in period_ids or []:
        done += collection.period_collect(period_id=period_id, clock=clock_now) is not None
    return done


@shared_task
def publish_events(event_ids: list[str], **_: object) -> None:
    """Hand a cycle batch's events to their publishers, off the billing path."""
    events.events_publish_many(event_ids=event_ids)


@shared_task
def run_test_clock_job(job_id: str, **_: object) -> str:
    """An advance of a test clock asked for with `Prefer: respond-async`."""
    return clocks.clock_job_run(job_id=job_id, real_now=real_now).status


@shared_task
def queue_unstarted_clock_jobs(**_: object) -> int:
    """Beat: queue the test-clock jobs whose message was never sent (the broker was down
    when they were asked for)."""
    grace = timedelta(seconds=settings.QUEUED_WORK_GRACE_SECONDS)
    return clocks.clock_jobs_queue_unstarted(now=real_now(), older_than=grace)
