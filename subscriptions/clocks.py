"""Test mode's clock: advancing it runs every cycle due up to the new time, in order.

The clock itself is the kernel's (`Workspace.test_clock_at`, read by billing.clock) so
that every app sees one time; advancing lives here because what advancing does is run
billing cycles. The clock stops at each instant something is due (a billing boundary, the
end of a pause), so each invoice is dated and finalized at its own time, as if the
months had really passed; a year of monthly billing is a dozen steps.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min

from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from subscriptions.choices import SubscriptionStatus
from subscriptions.cycles import cycle_run, fixed_clock
from subscriptions.models import Subscription
from subscriptions.selectors import subscriptions_resume_due_ids
from subscriptions.services import subscriptions_resume_due

# One call advances at most this far: a typo of a century would bill a century.
MAX_ADVANCE = timedelta(days=5 * 366)


def _next_due(workspace: Workspace, until: datetime) -> datetime | None:
    tenant = Subscription.objects.filter(workspace=workspace, test_mode=True)
    billing = tenant.filter(status=SubscriptionStatus.ACTIVE, next_billing_at__lte=until).aggregate(
        at=Min("next_billing_at")
    )["at"]
    resume = tenant.filter(status=SubscriptionStatus.PAUSED, resume_at__lte=until).aggregate(
        at=Min("resume_at")
    )["at"]
    due = [at for at in (billing, resume) if at is not None]
    return min(due) if due else None


@transaction.atomic
def clock_advance(
    *, workspace: Workspace, test_mode: bool, now: datetime, to: datetime
) -> Workspace:
    """Move the workspace's test clock from `now` (its current time) to `to`, running
    every resume and billing cycle due on the way, each at its own instant."""
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
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    current = now
    while (due := _next_due(workspace, to)) is not None:
        step = max(current, due)
        workspace.test_clock_at = step
        workspace.save(update_fields=["test_clock_at"])
        resumed = subscriptions_resume_due(
            subscription_ids=subscriptions_resume_due_ids(
                now=step, workspace=workspace, test_mode=True
            ),
            now=step,
        )
        billed = cycle_run(clock=fixed_clock(step), now=step, workspace=workspace, test_mode=True)
        if not resumed and not billed:
            break  # what is due is held by a concurrent run; it bills it on its own
        current = step
    workspace.test_clock_at = to
    workspace.save(update_fields=["test_clock_at"])
    return workspace
