import pytest

from invoices.models import Invoice
from tests.conftest import Tenant, make_tenant
from tests.fake_stripe import LIVE_KEY, LIVE_PUBLISHABLE_KEY, PUBLISHABLE_KEY, FakeStripe


def connect_stripe(tenant: Tenant, fake: FakeStripe, **settings: object) -> dict[str, object]:
    response = tenant.client.post(
        "/payment_gateways/",
        {
            "gateway": "stripe",
            "secret_key": fake.secret_key if tenant.test_mode else LIVE_KEY,
            "publishable_key": PUBLISHABLE_KEY if tenant.test_mode else LIVE_PUBLISHABLE_KEY,
            "webhook_secret": fake.webhook_secret,
            **settings,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.fixture
def stripe_tenant(db, fake_stripe):  # type: ignore[no-untyped-def]
    """A test-mode workspace connected to the fake Stripe (events from Stripe's test
    mode arrive for it)."""
    tenant = make_tenant(test_mode=True)
    connect_stripe(tenant, fake_stripe)
    return tenant


def create_customer(tenant: Tenant, **fields: object) -> dict[str, object]:
    response = tenant.client.post(
        "/customers/",
        {"name": "Comercial Andes SpA", "country": "CL", "tax_id": "76.086.428-5",
         "email": "billing@andes.cl", "address": "Av. Apoquindo 3000", **fields},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return dict(response.json())


def open_intent_and_waiting_payment(tenant: Tenant, invoice: Invoice) -> tuple[str, str]:
    """An open intent and a payment waiting for a payment method, both on `invoice`."""
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}, format="json")
    assert intent.status_code == 201, intent.content
    payment = tenant.client.post(
        "/payments/",
        {"invoice": invoice.id, "status": "requires_payment_method"},
        format="json",
    )
    assert payment.status_code == 201, payment.content
    assert payment.json()["status"] == "requires_payment_method"
    return intent.json()["id"], payment.json()["id"]
