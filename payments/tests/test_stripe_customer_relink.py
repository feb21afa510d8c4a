"""A customer deleted in Stripe is made again in Stripe by the next sync, not re-linked
to the deleted one (Stripe replays an idempotency key's first answer for 24 hours)."""

from django.utils import timezone

from customers.models import Customer
from payments import services
from payments.models import StripeEvent
from payments.tests.conftest import connect_stripe, create_customer
from tests.conftest import make_tenant
from tests.fake_stripe import post_stripe_event, stripe_event


def test_a_customer_deleted_in_stripe_is_created_anew_by_the_next_sync(db, fake_stripe):
    tenant = make_tenant(test_mode=True)
    connect_stripe(tenant, fake_stripe, sync_customers=True)
    customer = create_customer(tenant)
    assert services.customer_sync_to_stripe(customer_id=customer["id"], now=timezone.now()) == (
        "synced"
    )
    deleted = Customer.objects.get(pk=customer["id"]).stripe_id
    event = stripe_event("customer.deleted", {"id": deleted, "object": "customer"})
    assert post_stripe_event(tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    assert services.stripe_event_process(event_id=stored.id, now=timezone.now()).status == (
        "processed"
    )
    assert Customer.objects.get(pk=customer["id"]).stripe_id == ""

    synced = services.customer_sync_to_stripe(customer_id=customer["id"], now=timezone.now())

    relinked = Customer.objects.get(pk=customer["id"]).stripe_id
    assert synced == "synced"
    assert relinked.startswith("cus_") and relinked != deleted
