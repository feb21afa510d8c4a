"""Gateway connections: the kind (`gateway`) is fixed at create; PUT may repeat it."""

import pytest

from payments.models import PaymentGateway
from tests.fake_stripe import LIVE_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe(tenant, fake_stripe):  # type: ignore[no-untyped-def]
    created = tenant.client.post(
        "/payment_gateways/",
        {"gateway": "stripe", "secret_key": LIVE_KEY},  # `tenant` is live
        format="json",
    )
    assert created.status_code == 201, created.content
    return created.json()


def test_put_repeating_the_gateway_updates_the_connection(tenant, stripe) -> None:  # type: ignore[no-untyped-def]
    response = tenant.client.put(
        f"/payment_gateways/{stripe['id']}/",
        {"gateway": "stripe", "enabled": False, "publishable_key": "pk_live_2"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["enabled"], response.json()["publishable_key"]) == (False, "pk_live_2")
    assert response.json()["has_secret_key"] is True


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_gateway_of_a_connection_cannot_change(tenant, stripe, method) -> None:  # type: ignore[no-untyped-def]
    response = getattr(tenant.client, method)(
        f"/payment_gateways/{stripe['id']}/", {"gateway": "sandbox"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "gateway" in response.json()
    assert PaymentGateway.objects.get(pk=stripe["id"]).gateway == "stripe"
