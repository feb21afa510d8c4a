"""G10 for Stripe: after a whole Stripe flow (connection, customer sync, a card saved
through Checkout, a charge, a refund, inbound events), neither the secret key, the
webhook secret nor the card number is in any API response, log line or admin page the
flow touched, nor is the card number in the database. The admin shows the connection
masked, the sync state and the inbound event log, whose events can be processed again."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.models import Payment, PaymentGateway, Source, StripeEvent
from payments.tests.conftest import create_customer
from payments.tests.test_secrets import _database_text, _digits_only
from payments.tests.test_stripe_cards import save_card
from tests.fake_stripe import post_stripe_event, stripe_event

CARD = "4000056655665556"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_secret_or_card_number_in_responses_logs_admin_or_database(
    stripe_tenant, fake_stripe, caplog
):
    caplog.set_level(logging.DEBUG)
    client = stripe_tenant.client
    bodies: list[str] = []

    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], CARD)
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=timezone.now())
    refund = client.post(f"/payments/{payment.id}/refund/", {"amount": "10"}, format="json")
    event = stripe_event("payment_intent.succeeded", {"id": payment.gateway_reference})
    bodies.append(post_stripe_event(stripe_tenant.workspace.id, event).content.decode())
    paths = ["/payment_gateways/", f"/customers/{customer['id']}/", "/sources/"]
    for path in [*paths, f"/payments/{payment.id}/"]:
        bodies.append(client.get(path).content.decode())
    bodies.append(refund.content.decode())

    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@x.cl", "pw-admin-1"))
    connection = PaymentGateway.objects.get(gateway="stripe")
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    pages = [
        reverse("admin:payments_paymentgateway_changelist"),
        reverse("admin:payments_paymentgateway_change", args=[connection.pk]),
        reverse("admin:payments_stripeevent_changelist"),
        reverse("admin:payments_stripeevent_change", args=[stored.pk]),
        reverse("admin:payments_source_change", args=[source.pk]),
        reverse("admin:payments_payment_change", args=[payment.pk]),
        reverse("admin:customers_customer_change", args=[customer["id"]]),
    ]
    for page in pages:
        response = admin.get(page)
        assert response.status_code == 200, page
        bodies.append(response.content.decode())

    everything = "\n".join([*bodies, caplog.text])
    for secret in (fake_stripe.secret_key, fake_stripe.webhook_secret, CARD):
        assert secret not in everything
    assert CARD not in _digits_only(_database_text())
    assert "…" + fake_stripe.secret_key[-4:] in "\n".join(bodies)  # masked in the admin
    assert Customer.objects.get(pk=customer["id"]).stripe_id in "\n".join(bodies)


@pytest.mark.django_db
def test_the_admin_processes_a_stored_event_again(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    Customer.objects.filter(pk=customer["id"]).update(stripe_id="")  # as if Stripe deleted it
    event = stripe_event("customer.deleted", {"id": "cus_gone", "object": "customer"})
    post_stripe_event(stripe_tenant.workspace.id, event)
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    services.stripe_event_process(event_id=stored.id, now=timezone.now())
    stored.refresh_from_db()
    assert stored.status == "ignored"  # no customer of ours had that Stripe id yet
    Customer.objects.filter(pk=customer["id"]).update(stripe_id="cus_gone")

    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@x.cl", "pw-admin-1"))
    response = admin.post(
        reverse("admin:payments_stripeevent_changelist"),
        {"action": "reprocess", "_selected_action": [stored.pk]},
        follow=True,
    )

    assert response.status_code == 200
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == ("processed", 2)
    shown = Customer.objects.get(pk=customer["id"])
    assert (shown.stripe_id, shown.stripe_sync_status) == ("", "not_synced")
    assert Source.objects.get(pk=source.pk).default is True
    assert Payment.objects.count() == 0
