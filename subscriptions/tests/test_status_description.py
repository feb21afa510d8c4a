"""A subscription's `status_description` always speaks of its status: "Cancels on …"
while a cancellation at period end is to come, why it needs attention while it does, and
nothing once it has ended, whichever path ended it."""

import pytest

from billing.models import Workspace
from subscriptions import services
from subscriptions.choices import NeedsAttentionReason
from subscriptions.tests.helpers import advance_over_api, santiago, subscribe_over_api
from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tester() -> Tenant:
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=santiago(2030, 7, 1, 9, 0)
    )
    return tenant


def _described(tenant: Tenant, sub: str) -> tuple[str, str]:
    body = tenant.client.get(f"/subscriptions/{sub}/").json()
    return body["status"], body["status_description"]


@pytest.mark.parametrize("paused", [False, True])
def test_a_cancellation_at_period_end_that_took_effect_no_longer_announces_itself(
    tester: Tenant, paused: bool
) -> None:
    sub = subscribe_over_api(tester)
    if paused:
        assert tester.client.post(f"/subscriptions/{sub}/pause/").status_code == 200
    response = tester.client.delete(f"/subscriptions/{sub}/?at_period_end=true")
    assert response.status_code == 200, response.json()
    assert response.json()["status_description"] == "Cancels on 2030-08-01."

    advance_over_api(tester, "2030-08-02T09:00:00-04:00")

    assert _described(tester, sub) == ("cancelled", "")


def test_a_flagged_subscription_cancelled_now_no_longer_says_why_it_was_flagged(
    tester: Tenant,
) -> None:
    sub = subscribe_over_api(tester)
    services.subscription_flag(
        subscription_id=sub, reason=NeedsAttentionReason.GATEWAY_ISSUE,
        description="card_declined", now=santiago(2030, 7, 1, 9, 0),
    )  # fmt: skip
    assert _described(tester, sub) == ("needs_attention", "card_declined")

    assert tester.client.delete(f"/subscriptions/{sub}/").status_code == 200

    assert _described(tester, sub) == ("cancelled", "")


def test_a_flagged_subscription_cancelled_at_period_end_ends_without_its_flag_reason(
    tester: Tenant,
) -> None:
    sub = subscribe_over_api(tester)
    services.subscription_flag(
        subscription_id=sub, reason=NeedsAttentionReason.GATEWAY_ISSUE,
        description="card_declined", now=santiago(2030, 7, 1, 9, 0),
    )  # fmt: skip
    tester.client.delete(f"/subscriptions/{sub}/?at_period_end=true")
    assert _described(tester, sub) == ("needs_attention", "card_declined")

    advance_over_api(tester, "2030-08-02T09:00:00-04:00")

    assert _described(tester, sub) == ("cancelled", "")
