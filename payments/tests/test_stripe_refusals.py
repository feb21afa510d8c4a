"""Stripe refusing a call (a 4xx from Stripe that is not about the key) is a 409
`stripe_refused` with Stripe's message on each route that calls it, never a 500."""

from django.test import Client
from django.utils import timezone

from customers.models import Customer
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.models import Payment
from payments.tests.conftest import create_customer
from payments.tests.test_stripe_cards import save_card


def test_a_refund_stripe_refuses_is_a_409(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=timezone.now())
    Payment.objects.filter(pk=payment.pk).update(gateway_reference="pi_stripe_does_not_know")

    response = stripe_tenant.client.post(
        f"/payments/{payment.pk}/refund/", {"amount": "100"}, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "stripe_refused"
    assert Payment.objects.get(pk=payment.pk).amount_refunded == 0


def test_a_card_setup_stripe_refuses_is_a_409(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    Customer.objects.filter(pk=customer["id"]).update(stripe_id="cus_stripe_does_not_know")

    response = stripe_tenant.client.post(
        f"/customers/{customer['id']}/setup_intent/",
        {"success_url": "https://shop.example.com/ok"},
        format="json",
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "stripe_refused"


def test_a_checkout_stripe_refuses_is_a_409_page(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    Customer.objects.filter(pk=customer["id"]).update(stripe_id="cus_stripe_does_not_know")
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    link = stripe_tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id}, format="json"
    ).json()

    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(link["url"])

    assert page.status_code == 409
    assert b"The payment service refused this payment" in page.content
