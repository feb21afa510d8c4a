"""DELETE /usages/{id}/: a usage record no invoice has billed goes, with its event, and no
longer counts; one an invoice billed stays (409). Its id is never counted again."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from billing.clock import clock_now
from billing.models import Workspace
from invoices.models import Invoice
from metering.models import UsageRecord
from metering.services.events import events_ingest
from subscriptions import services
from subscriptions.models import BilledPeriod
from subscriptions.services import cycles
from subscriptions.tests.helpers import plan_of, santiago, subscribe
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db

D = Decimal
START = santiago(2026, 1, 10, 9, 0)
DUE = santiago(2026, 2, 10, 9, 0)


def _move_clock(workspace: Workspace, at: datetime) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at


def _subscribed(tenant: Any) -> Any:
    _move_clock(tenant.workspace, START)
    calls = plan_of(tenant.workspace, 150, name="Calls", usage_scheme="metered")
    subscription = subscribe(tenant.workspace, START, [(calls, 1)])
    _move_clock(tenant.workspace, santiago(2026, 1, 20))
    return subscription


def _record(tenant: Any, line: Any, quantity: int, at: datetime, action: str = "increment"):
    response = tenant.client.post(
        "/usages/",
        {"subscription_line": line.id, "quantity": quantity, "date_time": at.isoformat(),
         "action": action},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _upcoming_usage(tenant: Any, subscription: Any) -> list[Decimal]:
    body = tenant.client.get(f"/subscriptions/{subscription.id}/upcoming/").json()
    return [D(str(row["quantity"])) for row in body["lines"] if row["line_type"] == "usage"]


def test_an_unbilled_record_is_deleted_and_no_longer_counts():
    tenant = make_tenant(test_mode=True)
    subscription = _subscribed(tenant)
    line = subscription.lines.get()
    kept = _record(tenant, line, 2, santiago(2026, 1, 11))
    gone = _record(tenant, line, 10, santiago(2026, 1, 12))
    assert _upcoming_usage(tenant, subscription) == [D(12)]

    response = tenant.client.delete(f"/usages/{gone}/")

    assert response.status_code == 204
    assert tenant.client.get(f"/usages/{gone}/").status_code == 404
    listed = tenant.client.get("/usages/", {"subscription": subscription.id}).json()
    assert [r["id"] for r in listed["results"]] == [kept]
    assert _upcoming_usage(tenant, subscription) == [D(2)]
    # Deleted once: a second DELETE finds nothing, whatever Idempotency-Key it carries.
    again = tenant.client.delete(f"/usages/{gone}/", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"
    # Its id stays taken: an event sent with it is a duplicate, not counted.
    report = events_ingest(
        workspace=tenant.workspace, test_mode=True, now=santiago(2026, 1, 20),
        events=[{"event_id": gone, "event_name": "calls", "customer": subscription.customer_id,
                 "timestamp": santiago(2026, 1, 12).isoformat(), "properties": {}}],
    )  # fmt: skip
    assert (report.accepted, report.duplicate) == (0, 1)
    assert _upcoming_usage(tenant, subscription) == [D(2)]

    _move_clock(tenant.workspace, DUE)
    cycles.cycle_run(clock=clock_now, now=DUE)
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    assert invoice.lines.get(line_type="usage").quantity == 2


def test_deleting_a_set_record_counts_the_usage_it_had_started_over():
    tenant = make_tenant(test_mode=True)
    subscription = _subscribed(tenant)
    line = subscription.lines.get()
    _record(tenant, line, 10, santiago(2026, 1, 11))
    reset = _record(tenant, line, 3, santiago(2026, 1, 12), action="set")
    _record(tenant, line, 1, santiago(2026, 1, 13))
    assert _upcoming_usage(tenant, subscription) == [D(4)]

    assert tenant.client.delete(f"/usages/{reset}/").status_code == 204

    assert _upcoming_usage(tenant, subscription) == [D(11)]


def test_a_record_an_invoice_billed_is_a_409_and_stays_counted():
    tenant = make_tenant(test_mode=True)
    subscription = _subscribed(tenant)
    line = subscription.lines.get()
    billed = _record(tenant, line, 5, santiago(2026, 1, 11))
    _move_clock(tenant.workspace, santiago(2026, 2, 10, 8, 0))
    # The billed period's last minute, and the next period's first hours.
    last = _record(tenant, line, 1, santiago(2026, 2, 9, 23, 59))
    upcoming = _record(tenant, line, 7, santiago(2026, 2, 10, 8, 0))
    _move_clock(tenant.workspace, DUE)
    cycles.cycle_run(clock=clock_now, now=DUE)
    invoice = Invoice.objects.get(subscription_id=subscription.id, period_start="2026-02-10")
    assert invoice.lines.get(line_type="usage").quantity == 6

    for record_id in (billed, last):
        response = tenant.client.delete(f"/usages/{record_id}/")
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == "usage_record_billed"
        assert record_id in response.json()["detail"]
        assert UsageRecord.objects.filter(pk=record_id).exists()
    # The period the invoice did not bill yet is still open.
    assert tenant.client.delete(f"/usages/{upcoming}/").status_code == 204
    assert _upcoming_usage(tenant, subscription) == [D(0)]


def test_another_tenant_s_record_is_a_404_and_stays():
    tenant = make_tenant(test_mode=True)
    other = make_tenant(test_mode=True)
    subscription = _subscribed(other)
    foreign = _record(other, subscription.lines.get(), 4, santiago(2026, 1, 11))

    response = tenant.client.delete(f"/usages/{foreign}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert UsageRecord.objects.filter(pk=foreign).exists()
    assert tenant.client.delete("/usages/usa_nothing/").status_code == 404


def test_a_record_a_cancellation_s_final_invoice_billed_is_a_409():
    tenant = make_tenant(test_mode=True)
    subscription = _subscribed(tenant)
    record = _record(tenant, subscription.lines.get(), 5, santiago(2026, 1, 12))
    services.subscription_cancel(subscription=subscription, now=santiago(2026, 1, 20))
    final = BilledPeriod.objects.get(subscription=subscription, kind="final").invoice
    assert final.lines.get(line_type="usage").quantity == 5

    response = tenant.client.delete(f"/usages/{record}/")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "usage_record_billed"


def test_a_record_in_a_period_already_invoiced_is_refused_not_lost():
    # No invoice would ever bill it (an issued invoice never changes): it is refused, as a
    # record dated before its subscription started is, rather than stored and never billed.
    tenant = make_tenant(test_mode=True)
    subscription = _subscribed(tenant)
    line = subscription.lines.get()
    _move_clock(tenant.workspace, DUE)
    cycles.cycle_run(clock=clock_now, now=DUE)

    late = tenant.client.post(
        "/usages/",
        {"subscription_line": line.id, "quantity": 3,
         "date_time": santiago(2026, 2, 9, 23, 59).isoformat()},
        format="json",
    )  # fmt: skip

    assert late.status_code == 400, late.json()
    assert "invoiced" in late.json()["date_time"][0]
    assert not UsageRecord.objects.filter(subscription_id=subscription.id).exists()
    # The period not invoiced yet takes records as before.
    assert _record(tenant, line, 2, santiago(2026, 2, 10, 10, 0))
