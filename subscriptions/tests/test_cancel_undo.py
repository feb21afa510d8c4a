"""A cancellation at period end can be taken back before the period ends, as Stripe's
`cancel_at_period_end: false` does; once cancelled it cannot (409)."""

import pytest

from billing.models import Workspace
from invoices.models import Invoice
from subscriptions.tests.helpers import advance_over_api, santiago, subscribe_over_api
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tester() -> Tenant:
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=santiago(2026, 3, 10, 9, 0)
    )
    return tenant


def test_a_cancellation_at_period_end_is_undone_and_billing_goes_on(tester: Tenant) -> None:
    sub = subscribe_over_api(tester)
    url = f"/subscriptions/{sub}/"
    tester.client.delete(f"{url}?at_period_end=true")

    kept = tester.client.patch(url, {"cancel_at_period_end": False}, format="json")

    assert kept.status_code == 200, kept.json()
    body = kept.json()
    assert (body["status"], body["cancel_at_period_end"], body["status_description"]) == (
        "active", False, "",
    )  # fmt: skip
    assert body["next_billing"] == "2026-04-10"
    advance_over_api(tester, "2026-04-10T09:00:00-03:00")
    after = tester.client.get(url).json()
    assert (after["status"], after["next_billing"]) == ("active", "2026-05-10")
    periods = Invoice.objects.filter(subscription_id=sub).values_list("period_start", flat=True)
    assert sorted(d.isoformat() for d in periods) == ["2026-03-10", "2026-04-10"]


def test_cancel_at_period_end_true_on_update_schedules_the_cancellation(tester: Tenant) -> None:
    sub = subscribe_over_api(tester)
    response = tester.client.patch(
        f"/subscriptions/{sub}/", {"cancel_at_period_end": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["cancel_at_period_end"]) == ("active", True)
    assert body["status_description"] == "Cancels on 2026-04-10."


def test_once_cancelled_at_period_end_it_cannot_be_undone(tester: Tenant) -> None:
    sub = subscribe_over_api(tester)
    url = f"/subscriptions/{sub}/"
    tester.client.delete(f"{url}?at_period_end=true")
    advance_over_api(tester, "2026-04-10T09:00:00-03:00")

    response = tester.client.patch(url, {"cancel_at_period_end": False}, format="json")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "subscription_not_editable"
    assert tester.client.get(url).json()["status"] == "cancelled"
