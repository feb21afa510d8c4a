"""Stripe end to end with a real Celery worker (and beat) on Redis and PostgreSQL, the
fake Stripe as a real process: the Flexprice + Stripe guide's payment phases."""

import time

import pytest

from billing.models import Workspace
from customers.models import Customer
from invoices.models import Invoice
from payments.models import Payment, Source, StripeEvent
from payments.tests.conftest import connect_stripe, create_customer
from subscriptions.tests.helpers import plan_of, santiago, subscribe
from tests.conftest import make_tenant
from tests.fake_stripe import checkout_session_id, post_stripe_event, stripe_event
from tests.workers import require_worker_services, running_worker, use_test_broker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for(predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker_env(fake_stripe):  # type: ignore[no-untyped-def]
    require_worker_services()
    with use_test_broker():
        yield {"STRIPE_API_BASE": fake_stripe.base_url, "BILLING_CYCLE_INTERVAL_SECONDS": "0.5"}


def test_the_guides_payment_phases_through_stripe(worker_env, fake_stripe, tmp_path):
    start = santiago(2026, 3, 1, 9, 0)
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_clock_at=start)

    with running_worker(tmp_path, extra_env=worker_env, beat=True, concurrency=3) as worker:
        # 1. Connection, syncing customers and invoices.
        connect_stripe(tenant, fake_stripe, sync_customers=True, sync_invoices=True)

        # 2. The customer is created in Stripe by the worker, after the API's commit.
        customer_id = create_customer(tenant)["id"]
        customer = Customer.objects.filter(pk=customer_id)
        wait_for(lambda: customer.get().stripe_sync_status == "synced", "the customer sync")
        shown = tenant.client.get(f"/customers/{customer_id}/").json()
        assert shown["stripe_id"].startswith("cus_")
        in_stripe = fake_stripe.client().v1.customers.retrieve(shown["stripe_id"])
        assert (in_stripe.name, in_stripe.metadata["billing_id"]) == (
            "Comercial Andes SpA", customer_id
        )  # fmt: skip

        # An update follows it there, to the same Stripe customer.
        tenant.client.patch(f"/customers/{customer_id}/", {"name": "Andes Ltda"}, format="json")
        wait_for(
            lambda: (
                fake_stripe.client().v1.customers.retrieve(shown["stripe_id"]).name == "Andes Ltda"
            ),
            "the update in Stripe",
        )
        assert customer.get().stripe_id == shown["stripe_id"]

        # 3. The card is saved through Checkout (setup mode); the webhook's task saves it.
        url = tenant.client.post(
            f"/customers/{customer_id}/setup_intent/",
            {"success_url": "https://shop.example.com/ok"},
            format="json",
        ).json()["url"]
        completed = fake_stripe.complete_checkout(checkout_session_id(url))
        assert post_stripe_event(tenant.workspace.id, completed).status_code == 200
        wait_for(
            lambda: Source.objects.filter(customer_id=customer_id, default=True).exists(),
            "the saved card",
        )
        source = Source.objects.get(customer_id=customer_id, default=True)

        # 4. A subscription charging automatically: beat bills it and charges the card.
        subscribe(
            tenant.workspace, start, [(plan_of(tenant.workspace), 1)],
            customer=customer.get(), collection_scheme="charge_payment", default_source=source,
        )  # fmt: skip
        invoices = Invoice.objects.filter(customer_id=customer_id)
        wait_for(lambda: invoices.filter(status="paid").exists(), "the invoice paid")
        payment = Payment.objects.get(customer_id=customer_id, status="succeeded")
        intent = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
        assert intent.status == "succeeded"

        # 5. The cycle's invoice is copied to Stripe; our charge paid it, so Stripe's copy
        # is marked paid outside Stripe and its hosted page never asks for it again.
        wait_for(lambda: invoices.get().stripe_status == "paid", "the Stripe copy paid", timeout=90)
        synced = tenant.client.get(f"/invoices/{invoices.get().id}/").json()
        assert synced["stripe_id"].startswith("in_")
        assert synced["stripe_hosted_invoice_url"].startswith("http")
        copy = fake_stripe.client().v1.invoices.retrieve(synced["stripe_id"])
        assert (copy.status, copy.customer) == ("paid", shown["stripe_id"])
        assert copy.amount_paid_off_stripe == copy.total == int(invoices.get().total_adjusted)
        assert copy.metadata["billing_id"] == synced["id"]

        # 6. Stripe's own event for that charge reconciles (and changes nothing), once.
        succeeded = stripe_event(
            "payment_intent.succeeded", {"id": intent.id, "object": "payment_intent"}
        )
        for _ in range(2):
            assert post_stripe_event(tenant.workspace.id, succeeded).status_code == 200
        stored = StripeEvent.objects.filter(stripe_id=succeeded["id"])
        wait_for(lambda: stored.get().status != "received", "the event processed")
        assert (stored.count(), stored.get().attempts, stored.get().status) == (1, 1, "ignored")

    log = worker.log_path.read_text()
    for secret in (fake_stripe.secret_key, fake_stripe.webhook_secret):
        assert secret not in log
    assert "4242424242424242" not in log
    assert (invoices.get().status, invoices.get().stripe_sync_status) == ("paid", "synced")
    assert Payment.objects.filter(customer_id=customer_id).count() == 1
