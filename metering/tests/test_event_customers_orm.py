"""The ORM read of who a batch's keys name (what SQLite runs) answers as the SQL read
PostgreSQL runs: the same customers, each with the same usage invoiced, over
subscriptions billed, with a metered line removed, cancelled, and never billed."""

from datetime import date, datetime

import pytest

from billing.clock import clock_now
from billing.models import Workspace
from metering.event_customers_orm import event_customers_orm
from metering.models import Meter
from metering.selectors import event_customers
from subscriptions import services
from subscriptions.services import cycles
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db

START = santiago(2026, 1, 10, 9, 0)


def _at(workspace: Workspace, at: datetime) -> datetime:
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=at)
    workspace.test_clock_at = at
    return at


def _metered(workspace: Workspace, event_name: str, **meter):  # type: ignore[no-untyped-def]
    meter_row = Meter.objects.create(
        workspace=workspace, test_mode=True, name=event_name, event_name=event_name,
        aggregation="count", **meter,
    )  # fmt: skip
    return plan_of(workspace, 2, name=event_name, usage_scheme="metered", meter_id=meter_row.id)


@pytest.mark.postgresql
def test_the_orm_read_answers_as_the_sql_read():
    workspace = workspace_at(START)
    fee = plan_of(workspace, 10000, name="Fee")
    calls, sms = (
        _metered(workspace, "call"),
        _metered(workspace, "sms", filters=[{"key": "region", "values": ["us", "eu"]}]),
    )
    storage = _metered(workspace, "storage")
    customer, other, idle = customer_of(workspace), customer_of(workspace), customer_of(workspace)
    customer.reference = "ref-1"
    customer.save(update_fields=["reference"])
    kept = subscribe(workspace, START, [(fee, 1), (calls, 1), (storage, 1)], customer=customer)
    ended = subscribe(workspace, START, [(sms, 1)], customer=customer, trial_end=date(2026, 1, 15))
    subscribe(workspace, START, [(calls, 1)], customer=other)
    subscribe(workspace, START, [(sms, 1)], customer=idle)  # never billed
    cycles.cycle_run(clock=clock_now, now=_at(workspace, santiago(2026, 2, 10, 9, 0)))
    # The storage line removed: its usage is billed by the next invoice, then no more.
    services.subscription_update(
        subscription=kept, now=_at(workspace, santiago(2026, 2, 20, 9, 0)),
        lines=[{"plan": fee}, {"plan": calls}],
    )  # fmt: skip
    cycles.cycle_run(clock=clock_now, now=_at(workspace, santiago(2026, 3, 10, 9, 0)))
    ended.refresh_from_db()
    services.subscription_cancel(subscription=ended, now=_at(workspace, santiago(2026, 3, 20, 9)))

    keys = {customer.pk, "ref-1", other.pk, idle.pk, "nobody"}
    for names in [{"call", "sms", "storage", "other"}, {"sms"}, {"other"}, set()]:
        expected = event_customers(
            workspace_id=workspace.pk, test_mode=True, keys=keys, event_names=names
        )
        found = event_customers_orm(
            workspace_id=workspace.pk, test_mode=True, keys=keys, event_names=names
        )
        assert {k: (c.customer_id, set(c.billed)) for k, c in found.items()} == {
            k: (c.customer_id, set(c.billed)) for k, c in expected.items()
        }, names
    assert len(expected[customer.pk].billed) == 0  # the last names: none counted
    spans = event_customers(
        workspace_id=workspace.pk, test_mode=True, keys=keys, event_names={"call", "sms", "storage"}
    )
    assert {s.event_name for s in spans["ref-1"].billed} == {"call", "sms", "storage"}
