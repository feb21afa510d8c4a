"""Arrangements shared by the metering tests."""

from decimal import Decimal
from typing import Any

from metering.models import Meter
from tests.conftest import Tenant


def meter_of(tenant: Tenant, **fields: Any) -> Meter:
    fields = {"name": "Calls", "event_name": "api_call", "aggregation": "count", **fields}
    return Meter.objects.create(workspace=tenant.workspace, test_mode=tenant.test_mode, **fields)


def post_bulk(tenant: Tenant, events: list[dict[str, Any]]) -> Any:
    return tenant.client.post("/events/bulk/", {"events": events}, format="json")


def usage(tenant: Tenant, meter: Meter, customer: str, **params: str) -> Decimal:
    params = {"customer": customer, "start": "2026-01-01T00:00:00Z",
              "end": "2026-02-01T00:00:00Z", **params}  # fmt: skip
    response = tenant.client.get(f"/meters/{meter.id}/usage/", params)
    assert response.status_code == 200, response.json()
    return Decimal(str(response.json()["value"]))
