"""Test mode's clock: advancing it runs everything due up to the new time, in order.

The clock itself is the kernel's (`Workspace.test_clock_at`, read by billing.clock) so
that every app sees one time; advancing lives here because what advancing does is run
billing cycles and their collection. The clock stops at each instant something is due (a
billing boundary, the end of a pause, a charge, a retry or an email, the first moment of a
day a reminder is due), so each invoice is dated and finalized, each charge made and each
reminder sent at its own time, as if the months had really passed; a year of monthly
billing is a few dozen steps.

No transaction spans the advance. Each step moves the clock and bills in one short
transaction, then collects with no lock held (a charge is a gateway call, an email a
mail server's), exactly as beat and the workers do on the real clock. Two advances of one
workspace at once are told apart by the clock itself: a step moves it only from where it
was left, so the second finds it moved and stops (`test_clock_moved`).
"""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from billing.clock import workspace_today
from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from billing.queueing import task_queue_or_leave
from billing.sweeps import claim_for_enqueue
from reminders.selectors import reminders_next_send_date
from reminders.services import reminders_send_due_for
from subscriptions.calendar import local_midnight
from subscriptions.choices import CYCLE_DUE, CollectionStatus, SubscriptionStatus
from subscriptions.models import BilledPeriod, Subscription, TestClockJob
from subscriptions.selectors import subscriptions_resume_due_ids
from subscriptions.services.collection import period_collect
from subscriptions.services.cycles import cycle_run, fixed_clock
from subscriptions.services.lifecycle import subscriptions_resume_due

# How long an advance waits for a step another run holds: beat bills a batch in well
# under a second.
BUSY_RETRIES = 50
BUSY_WAIT_SECONDS = 0.1

# One call advances at most this far: a typo of a century would bill a century.
MAX_ADVANCE = timedelta(days=5 * 366)


def _collectable(workspace: Workspace) -> Q:
    """The workspace's test-mode periods with a charge or email still to make, other than
    those a worker is making now (leased, on the real clock): it records them itself."""
    unleased = Q(leased_until__isnull=True) | Q(leased_until__lte=timezone.now())
    return (
        Q(subscription__workspace=workspace, subscription__test_mode=True)
        & unleased
        & (
            Q(collection_status=CollectionStatus.PENDING)
            | (Q(collection_status=CollectionStatus.REVIEW) & ~Q(invoice__status="draft"))
        )
    )


def _next_due(workspace: Workspace, current: datetime, until: datetime) -> datetime | None:
    tenant = Subscription.objects.filter(workspace=workspace, test_mode=True)
    billing = tenant.filter(CYCLE_DUE, next_billing_at__lte=until).aggregate(
        at=Min("next_billing_at")
    )["at"]
    resume = tenant.filter(status=SubscriptionStatus.PAUSED, resume_at__lte=until).aggregate(
        at=Min("resume_at")
    )["at"]
    periods = BilledPeriod.objects.filter(_collectable(workspace))
    collect = periods.filter(next_attempt_at__lte=until).aggregate(at=Min("next_attempt_at"))["at"]
    # A reviewed invoice finalized since is collected at once.
    reviewed = current if periods.filter(next_attempt_at__isnull=True).exists() else None
    candidates: list[datetime | None] = [
        billing, resume, collect, reviewed, _next_reminder(workspace, current),
    ]  # fmt: skip
    due = [at for at in candidates if at is not None and at <= until]
    return min(due) if due else None


def _next_reminder(workspace: Workspace, current: datetime) -> datetime | None:
    """When the next day a reminder is due begins (those due by `current`'s day went out
    at `current`)."""
    day = reminders_next_send_date(
        workspace=workspace, test_mode=True, after=workspace_today(workspace, current)
    )
    return None if day is None else local_midnight(day, workspace.timezone)


def _move(workspace: Workspace, frm: datetime | None, to: datetime) -> None:
    """Set the clock to `to` if it still reads `frm` (it is None until first moved)."""
    moved = Workspace.objects.filter(
        pk=workspace.pk,
        **({"test_clock_at": frm} if frm is not None else {"test_clock_at__isnull": True}),
    ).update(test_clock_at=to)
    if not moved:
        raise DomainError(
            "test_clock_moved",
            "The test clock was moved by another request meanwhile; read it and try again.",
        )
    workspace.test_clock_at = to


def _collect_due(workspace: Workspace, at: datetime) -> int:
    """One attempt of every collection due at `at`, each claimed and recorded in its own
    short transaction and made outside any (collection.period_collect)."""
    due = BilledPeriod.objects.filter(_collectable(workspace)).filter(
        Q(next_attempt_at__lte=at) | Q(next_attempt_at__isnull=True)
    )
    done = 0
    for period_id in due.order_by("next_attempt_at", "id").values_list("id", flat=True):
        done += period_collect(period_id=period_id, clock=fixed_clock(at)) is not None
    return done


def clock_advance(
    *, workspace: Workspace, test_mode: bool, now: datetime, to: datetime
) -> Workspace:
    """Move the workspace's test clock from `now` (its current time) to `to`, running
    every resume, billing cycle and collection attempt due on the way, each at its own
    instant. Advancing to where the clock already is does nothing, so a retried request
    is harmless. Call it outside a transaction: inside one, charges would be made under
    the caller's locks, and its rollback would undo invoices whose charges went through."""
    _check_advance(test_mode=test_mode, now=now, to=to)
    workspace = Workspace.objects.get(pk=workspace.pk)
    current = now
    # Reminders already due go out before the clock moves past their day.
    reminders_send_due_for(workspace=workspace, test_mode=True, now=current)
    idle_steps = 0
    while (due := _next_due(workspace, current, to)) is not None:
        step = max(current, due)
        with transaction.atomic():
            _move(workspace, workspace.test_clock_at, step)
            resumed = subscriptions_resume_due(
                subscription_ids=subscriptions_resume_due_ids(
                    now=step, workspace=workspace, test_mode=True
                ),
                now=step,
            )
            billed = cycle_run(
                clock=fixed_clock(step), now=step, workspace=workspace, test_mode=True
            )
        collected = _collect_due(workspace, step)
        # After billing and collecting: an invoice made at `step` may be due a reminder then.
        reminded = reminders_send_due_for(workspace=workspace, test_mode=True, now=step)
        if resumed or billed or collected or reminded:
            idle_steps = 0
        else:
            # What is due is locked by a concurrent run (beat's batch of the same
            # subscriptions) for the moment. Moving on would leave it behind the clock,
            # billed later than its own time or not at all: wait for it instead.
            idle_steps += 1
            if idle_steps > BUSY_RETRIES:
                raise DomainError(
                    "test_clock_busy",
                    f"What is due at {step.isoformat()} is held by another run; the clock "
                    "stopped there. Advance it again in a moment.",
                )
            time.sleep(BUSY_WAIT_SECONDS)
        current = step
    _move(workspace, workspace.test_clock_at, to)
    return workspace


def _check_advance(*, test_mode: bool, now: datetime, to: datetime) -> None:
    if not test_mode:
        raise DomainError(
            "test_clock_live_mode",
            "Live mode runs on the real clock; send x-piriod-test-mode: true to use the "
            "test clock.",
        )
    if to < now:
        raise InvalidInput({"advance_to": [f"The clock only moves forward; it is {now}."]})
    if to - now > MAX_ADVANCE:
        raise InvalidInput({"advance_to": ["The clock moves at most five years per call."]})


def clock_job_start(
    *, workspace: Workspace, test_mode: bool, now: datetime, to: datetime
) -> TestClockJob:
    """Check the advance as `clock_advance` would, record it as a job and queue it for a
    worker; the caller answers at once and the job is polled."""
    _check_advance(test_mode=test_mode, now=now, to=to)
    job = TestClockJob.objects.create(
        workspace=workspace, test_mode=True, started_from=now, advance_to=to
    )
    transaction.on_commit(lambda: _queue_job(job.id))
    return job


def _queue_job(job_id: str) -> None:
    # Not queued while the broker is down: clock_jobs_queue_unstarted queues it later.
    task_queue_or_leave("subscriptions.tasks.run_test_clock_job", kwargs={"job_id": job_id})


def clock_jobs_queue_unstarted(*, now: datetime, older_than: timedelta, limit: int = 100) -> int:
    """Queue the jobs no worker took up `older_than` after they were asked for: their
    message was never sent (the broker was down). Each is claimed for the sweep lease."""
    with transaction.atomic():
        unstarted = TestClockJob.objects.filter(
            status="running", started_at__isnull=True, created_at__lte=now - older_than
        )
        job_ids = claim_for_enqueue(
            unstarted, now=now, limit=limit, order_by=("created_at", "id"), field="enqueued_at"
        )
    for job_id in job_ids:
        _queue_job(job_id)
    return len(job_ids)


def clock_job_run(*, job_id: str, real_now: Callable[[], datetime]) -> TestClockJob:
    """Run a queued advance once; a job already finished (a redelivered message) is left
    as it is. `real_now` reads the real time the job starts and ends at."""
    job = TestClockJob.objects.select_related("workspace").get(pk=job_id)
    if job.status != "running":
        return job
    if job.started_at is None:  # taken up: the sweep leaves it to this run
        TestClockJob.objects.filter(pk=job.pk).update(started_at=real_now())
    try:
        clock_advance(
            workspace=job.workspace, test_mode=True, now=job.started_from, to=job.advance_to
        )
    except DomainError as exc:
        job.status, job.error_code, job.error_detail = "failed", exc.code, exc.detail
    except InvalidInput as exc:
        job.status, job.error_code, job.error_detail = "failed", "invalid", str(exc.errors)
    else:
        job.status = "succeeded"
    job.finished_at = real_now()
    job.save(update_fields=["status", "error_code", "error_detail", "finished_at", "updated_at"])
    return job


def clock_job_progress(job: TestClockJob) -> float:
    """How far the clock has got, from 0 to 1: each step commits as it goes, so the
    workspace's clock is the job's position."""
    if job.status == "succeeded":
        return 1.0
    at = Workspace.objects.values_list("test_clock_at", flat=True).get(pk=job.workspace_id)
    span = (job.advance_to - job.started_from).total_seconds()
    if at is None or span <= 0:
        return 0.0
    return max(0.0, min(1.0, (at - job.started_from).total_seconds() / span))
