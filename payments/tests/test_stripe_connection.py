"""A Stripe connection: the key is checked with Stripe (the fake Stripe), the secrets
are write-only, and the sync settings and the connection's state are shown."""

import pytest

from payments.models import PaymentGateway
from tests.conftest import Tenant, make_tenant
from tests.fake_stripe import LIVE_KEY, OTHER_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(db) -> Tenant:  # type: ignore[no-untyped-def]
    """A test-mode workspace: the fake Stripe's keys are test keys."""
    return make_tenant(test_mode=True)


@pytest.mark.parametrize(
    ("test_mode", "field", "key"),
    [
        (False, "secret_key", "sk_test_51FakeStripeSecretKeyForTests0000"),
        (False, "secret_key", "rk_test_51FakeRestrictedKey"),
        (True, "secret_key", LIVE_KEY),
        (True, "secret_key", "rk_live_51FakeRestrictedKey"),
        (False, "publishable_key", "pk_test_123"),
        (True, "publishable_key", "pk_live_123"),
    ],
)
def test_a_key_of_the_other_mode_is_refused(fake_stripe, test_mode, field, key):
    tenant = make_tenant(test_mode=test_mode)
    right = LIVE_KEY if not test_mode else fake_stripe.secret_key

    response = tenant.client.post(
        "/payment_gateways/", {"gateway": "stripe", "secret_key": right, field: key}, format="json"
    )

    assert response.status_code == 400, response.content
    mode = "test" if test_mode else "live"
    assert f"{mode}-mode connection" in response.json()[field][0]
    assert not PaymentGateway.objects.filter(gateway="stripe").exists()


def test_a_live_connection_takes_live_keys(fake_stripe):
    live = make_tenant(test_mode=False)
    created = live.client.post(
        "/payment_gateways/",
        {"gateway": "stripe", "secret_key": LIVE_KEY, "publishable_key": "pk_live_123"},
        format="json",
    )
    assert created.status_code == 201, created.content

    rekeyed = live.client.patch(
        f"/payment_gateways/{created.json()['id']}/", {"secret_key": OTHER_KEY}, format="json"
    )

    assert rekeyed.status_code == 400
    assert "secret_key" in rekeyed.json()


def test_a_key_stripe_accepts_connects_the_workspace(tenant, fake_stripe):
    response = tenant.client.post(
        "/payment_gateways/",
        {
            "gateway": "stripe",
            "secret_key": fake_stripe.secret_key,
            "publishable_key": "pk_test_123",
            "webhook_secret": fake_stripe.webhook_secret,
            "sync_customers": True,
            "sync_invoices": False,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["sync_customers"], body["sync_invoices"]) == (
        "connected", True, False
    )  # fmt: skip
    assert body["verified_at"] is not None
    assert body["webhook_url"].endswith(f"/webhooks/stripe/{tenant.workspace.id}/")
    assert fake_stripe.secret_key not in response.content.decode()
    assert fake_stripe.webhook_secret not in response.content.decode()


def test_a_key_stripe_refuses_is_a_400_that_says_so_and_stores_nothing(tenant, fake_stripe):
    response = tenant.client.post(
        "/payment_gateways/",
        {"gateway": "stripe", "secret_key": "sk_test_not_a_key_stripe_knows"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "Stripe refused the secret key" in response.json()["secret_key"][0]
    assert "sk_test_not_a_key_stripe_knows" not in response.content.decode()
    assert not PaymentGateway.objects.filter(gateway="stripe").exists()


def test_a_publishable_key_in_the_secret_field_is_refused(tenant, fake_stripe):
    response = tenant.client.post(
        "/payment_gateways/", {"gateway": "stripe", "secret_key": "pk_test_123"}, format="json"
    )

    assert response.status_code == 400
    assert "secret_key" in response.json()


def test_a_new_key_is_checked_before_it_replaces_the_old(tenant, fake_stripe):
    created = tenant.client.post(
        "/payment_gateways/", {"gateway": "stripe", "secret_key": fake_stripe.secret_key}
    ).json()

    refused = tenant.client.patch(
        f"/payment_gateways/{created['id']}/", {"secret_key": "sk_test_wrong"}, format="json"
    )
    accepted = tenant.client.patch(
        f"/payment_gateways/{created['id']}/", {"secret_key": OTHER_KEY}, format="json"
    )

    assert refused.status_code == 400
    assert accepted.status_code == 200, accepted.content
    assert PaymentGateway.objects.get(pk=created["id"]).secret_key == OTHER_KEY


def test_sync_settings_change_without_the_key(tenant, fake_stripe):
    created = tenant.client.post(
        "/payment_gateways/", {"gateway": "stripe", "secret_key": fake_stripe.secret_key}
    ).json()

    response = tenant.client.patch(
        f"/payment_gateways/{created['id']}/",
        {"sync_customers": False, "sync_invoices": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["sync_customers"], response.json()["sync_invoices"]) == (False, True)
