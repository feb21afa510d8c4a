"""A plan pointed at a meter while the meter is deleted: one of the two wins, and no plan
is left priced by a meter that is gone."""

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from billing.errors import DomainError
from catalog import services as catalog_services
from catalog.models import Plan
from catalog.tests.factories import ProductFactory
from metering.models import Meter
from metering.services.meters import meter_delete
from metering.tests.factories import MeterFactory

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WAIT = 20  # seconds: how long a step may take before the test fails


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])


def _in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = target()
        except BaseException as exc:  # re-raised by the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_meter_deleted_while_a_plan_is_pointed_at_it_stays(monkeypatch):
    meter = MeterFactory()
    product = ProductFactory(workspace=meter.workspace, test_mode=meter.test_mode)
    # The plan's transaction stops once its meter is checked, until the delete has begun.
    checked, go_on = threading.Event(), threading.Event()
    validate = catalog_services.plan_validate

    def validate_then_wait(*args: Any, **kwargs: Any) -> None:
        validate(*args, **kwargs)
        checked.set()
        assert go_on.wait(WAIT)

    monkeypatch.setattr(catalog_services, "plan_validate", validate_then_wait)
    plan_thread, planned = _in_thread(
        lambda: catalog_services.plan_create(
            workspace=meter.workspace,
            test_mode=meter.test_mode,
            product=product,
            name="Calls",
            amount=Decimal(1),
            usage_scheme="metered",
            meter_id=meter.pk,
        )
    )
    assert checked.wait(WAIT)
    delete_thread, deleted = _in_thread(lambda: meter_delete(meter=Meter.objects.get(pk=meter.pk)))
    deadline = time.monotonic() + 2
    while delete_thread.is_alive() and not _waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    go_on.set()
    plan_thread.join(WAIT)
    delete_thread.join(WAIT)

    assert "error" not in planned, planned
    assert Plan.objects.filter(meter_id=meter.pk).exists()
    assert isinstance(deleted.get("error"), DomainError), deleted
    assert Meter.objects.filter(pk=meter.pk).exists()
