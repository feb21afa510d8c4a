from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, CommandParser

from billing.clock import clock_now, real_now
from billing.models import Workspace
from billing.progress import ProgressCommand
from subscriptions.selectors import subscriptions_due_ids
from subscriptions.services.cycles import BATCH_SIZE, cycle_bill_due


class Command(ProgressCommand):
    help = (
        "Bill every subscription whose period is due now, each on its tenant's clock, in "
        "batches through the same service as beat: a period billed by beat or by another "
        "run is never billed again. Subscriptions several periods behind are billed one "
        "period per pass until they are up to date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--workspace", help="only this workspace's subscriptions (acc_…), live and test"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        due = _due_finder(_workspace(options["workspace"]))
        bar = self.progress(
            label="Billing", total=len(due(None)), unit="subscriptions", options=options
        )
        seen = periods = 0
        billed: set[str] = set()
        # Due but left unbilled: cancelled at its period's end, flagged as needing
        # attention (it could not be billed), or held by another run (its rows are locked
        # and skipped). Not asked for again, so the loop ends.
        left: set[str] = set()
        while ids := [i for i in due(BATCH_SIZE + len(left)) if i not in left][:BATCH_SIZE]:
            issued = cycle_bill_due(subscription_ids=ids, clock=clock_now)
            done = {period.subscription_id for period in issued}
            left |= set(ids) - done
            billed |= done
            periods += len(issued)
            seen += len(ids)
            # A subscription still behind after this pass comes round again.
            bar.total = max(bar.total, seen)
            bar.update(len(ids))
        bar.close()
        self.stdout.write(
            f"Billed {periods} period(s) of {len(billed)} subscription(s); "
            f"{len(left - billed)} due were not billed (cancelled at the period's end, "
            "needing attention, or being billed by another run)."
        )


def _workspace(workspace_id: str | None) -> Workspace | None:
    if workspace_id is None:
        return None
    try:
        return Workspace.objects.get(pk=workspace_id)
    except Workspace.DoesNotExist:
        raise CommandError(f"No workspace {workspace_id}.") from None


def _due_finder(workspace: Workspace | None) -> Callable[[int | None], list[str]]:
    """Due subscription ids, earliest first, at most `limit` of them (all for None)."""
    unlimited = 10**9

    def every_tenant(limit: int | None) -> list[str]:
        return subscriptions_due_ids(now=real_now(), limit=limit or unlimited)

    def one_tenant(limit: int | None) -> list[str]:
        assert workspace is not None
        return [
            subscription_id
            for test_mode in (False, True)
            for subscription_id in subscriptions_due_ids(
                now=clock_now(workspace=workspace, test_mode=test_mode),
                limit=limit or unlimited,
                workspace=workspace,
                test_mode=test_mode,
            )
        ]

    return every_tenant if workspace is None else one_tenant
