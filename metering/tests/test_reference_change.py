"""A customer's reference changes: the usage recorded under the former one stays its own,
counted once, and no other customer may take the former one."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from metering.services.usage import usage_quantities
from metering.tests.helpers import meter_of, post_bulk, usage
from subscriptions.usage import MeteredLine

pytestmark = pytest.mark.django_db


def _event(event_id: str, customer: str) -> dict:
    return {"event_id": event_id, "event_name": "api_call", "customer": customer,
            "timestamp": "2026-01-05T12:00:00Z", "properties": {}}  # fmt: skip


def test_usage_under_a_former_reference_keeps_counting_for_the_customer(tenant):
    meter = meter_of(tenant)
    customer = CustomerFactory(workspace=tenant.workspace, reference="acme-1")
    post_bulk(tenant, [_event("a", "acme-1"), _event("b", customer.id)])

    changed = tenant.client.patch(
        f"/customers/{customer.id}/", {"reference": "acme-2"}, format="json"
    )
    post_bulk(tenant, [_event("c", "acme-2"), _event("a", "acme-2")])  # "a" again: once

    assert changed.status_code == 200, changed.json()
    assert usage(tenant, meter, customer.id) == Decimal(3)
    assert usage(tenant, meter, "acme-2") == Decimal(3)
    assert usage(tenant, meter, "acme-1") == Decimal(3)


def test_a_former_reference_of_one_customer_is_no_other_customers(tenant):
    customer = CustomerFactory(workspace=tenant.workspace, reference="acme-1")
    tenant.client.patch(f"/customers/{customer.id}/", {"reference": "acme-2"}, format="json")
    other = CustomerFactory(workspace=tenant.workspace)

    taken = tenant.client.patch(f"/customers/{other.id}/", {"reference": "acme-1"}, format="json")
    back = tenant.client.patch(f"/customers/{customer.id}/", {"reference": "acme-1"}, format="json")

    assert taken.status_code == 400, taken.json()
    assert "reference" in taken.json()
    assert back.status_code == 200, back.json()


def test_a_billing_cycle_bills_the_usage_under_a_former_reference(tenant):
    meter = meter_of(tenant)
    plan = PlanFactory(workspace=tenant.workspace, usage_scheme="metered", meter_id=meter.pk)
    customer = CustomerFactory(workspace=tenant.workspace, reference="acme-1")
    post_bulk(tenant, [_event("a", "acme-1")])
    tenant.client.patch(f"/customers/{customer.id}/", {"reference": "acme-2"}, format="json")
    post_bulk(tenant, [_event("b", "acme-2")])
    customer.refresh_from_db()
    line = MeteredLine(
        key="line", plan=plan, subscription_id="sub_x", customer_id=customer.id,
        customer_reference=customer.reference, start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 2, 1, tzinfo=UTC),
    )  # fmt: skip

    quantities = usage_quantities(workspace_id=tenant.workspace.pk, test_mode=False, lines=[line])

    assert quantities == {"line": Decimal(2)}


def test_a_deleted_customers_reference_is_no_new_customers(tenant):
    meter_of(tenant)
    gone = CustomerFactory(workspace=tenant.workspace, reference="acme-1")
    post_bulk(tenant, [_event("a", "acme-1")])
    deleted = tenant.client.delete(f"/customers/{gone.id}/")

    taken = tenant.client.post(
        "/customers/", {"name": "Other", "country": "US", "reference": "acme-1"}, format="json"
    )

    assert deleted.status_code == 204
    assert taken.status_code == 400, taken.json()
    assert taken.json() == {
        "reference": [
            "A deleted customer had this reference: its usage events still name it by it."
        ]
    }
