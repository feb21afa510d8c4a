"""Ingestion written the plain way, as the service first did it: each event checked field
by field (`_event_checked`), an object per outcome, and the answer built as a dict per
event. The service's single pass is held equal to this, answer and stored rows."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from billing.models import Workspace
from metering.selectors import event_customers
from metering.services.events import EventInvalid, _event_checked, latest_timestamp
from metering.store import NewEvent, Tenant, distinct_text, event_store
from subscriptions.calendar import local_midnight


@dataclass
class _Result:
    index: int
    event_id: str | None
    status: str
    reason: str = ""
    customer_found: bool = False
    late: bool = False


@dataclass
class _Report:
    results: list[_Result]
    unknown_customers: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)


def reference_ingest(
    *, workspace: Workspace, test_mode: bool, events: list[Any], now: datetime
) -> dict[str, Any]:
    """The answer's data for `events`, after storing them."""
    results: list[_Result] = []
    batch: dict[str, NewEvent] = {}
    latest = latest_timestamp(now)
    for index, data in enumerate(events):
        try:
            event = _event_checked(data, now=now, latest=latest, zone=ZoneInfo(workspace.timezone))
        except EventInvalid as exc:
            raw_id = data.get("event_id") if isinstance(data, dict) else None
            event_id = raw_id if isinstance(raw_id, str) else None
            results.append(_Result(index, event_id, "rejected", f"{exc.field}: {exc.message}"))
            continue
        if event.event_id in batch:
            results.append(_Result(index, event.event_id, "duplicate"))
            continue
        batch[event.event_id] = event
        results.append(_Result(index, event.event_id, "accepted"))
    customers = event_customers(
        workspace_id=workspace.pk,
        test_mode=test_mode,
        keys={e.customer_key for e in batch.values()},
        event_names={e.event_name for e in batch.values()},
    )
    tenant = Tenant(workspace_id=workspace.pk, test_mode=test_mode)
    stored = event_store().insert(tenant=tenant, events=list(batch.values()), received_at=now)
    unknown: set[str] = set()
    for result in results:
        if result.status == "rejected":
            continue
        event = batch[result.event_id]  # type: ignore[index]
        if result.status == "accepted" and event.event_id not in stored:
            result.status = "duplicate"
        found = customers.get(event.customer_key)
        if found is None:
            unknown.add(event.customer_key)
            continue
        result.customer_found = True
        for span in found.billed:
            first = local_midnight(span.billed_from, workspace.timezone)
            last = local_midnight(span.billed_until, workspace.timezone)
            counted = span.event_name == event.event_name and all(
                distinct_text(event.properties.get(key)) in values for key, values in span.filters
            )
            result.late = result.late or (counted and first <= event.timestamp < last)
    report = _Report(results=results, unknown_customers=sorted(unknown))
    return {
        "accepted": report.count("accepted"),
        "duplicate": report.count("duplicate"),
        "rejected": report.count("rejected"),
        "late": sum(1 for result in report.results if result.late),
        "unknown_customers": report.unknown_customers,
        "results": [
            {
                "index": r.index, "event_id": r.event_id, "status": r.status,
                "reason": r.reason, "customer_found": r.customer_found, "late": r.late,
            }
            for r in report.results
        ],
    }  # fmt: skip
