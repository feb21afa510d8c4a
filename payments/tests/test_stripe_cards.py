"""Saving a card through Stripe Checkout (setup mode), and charging and refunding it
through Stripe: the same payment services and dunning outcomes as the sandbox."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from customers.models import Customer
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways import sandbox
from payments.models import Payment, Source, StripeEvent
from payments.tests.conftest import create_customer
from tests.conftest import Tenant
from tests.fake_stripe import FakeStripe, checkout_session_id, post_stripe_event, stripe_event

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def save_card(tenant: Tenant, fake: FakeStripe, customer_id: str, card: str) -> Source:
    """The whole setup flow: our API gives the Checkout URL, the payer completes it in
    Stripe, Stripe sends checkout.session.completed, the event is processed."""
    response = tenant.client.post(
        f"/customers/{customer_id}/setup_intent/",
        {"success_url": "https://shop.example.com/card-saved"},
        format="json",
    )
    assert response.status_code == 200, response.content
    event = fake.complete_checkout(checkout_session_id(response.json()["url"]), card)
    assert post_stripe_event(tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    processed = services.stripe_event_process(event_id=stored.id, now=timezone.now())
    assert processed.status == "processed", processed.outcome
    return Source.objects.get(customer_id=customer_id, default=True)


def test_setup_intent_answers_a_stripe_checkout_url(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)

    response = stripe_tenant.client.post(
        f"/customers/{customer['id']}/setup_intent/",
        {"success_url": "https://shop.example.com/ok"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["gateway"] == "stripe"
    session = fake_stripe.client().v1.checkout.sessions.retrieve(
        checkout_session_id(response.json()["url"])
    )
    assert session.mode == "setup"
    assert session.customer == Customer.objects.get(pk=customer["id"]).stripe_id


def test_the_saved_card_becomes_the_default_source_without_its_number(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)

    first = save_card(stripe_tenant, fake_stripe, customer["id"], "4242424242424242")
    second = save_card(stripe_tenant, fake_stripe, customer["id"], "4000056655665556")

    first.refresh_from_db()
    assert (second.card_brand, second.card_last4, second.card_exp_year) == ("visa", "5556", 2034)
    assert second.gateway_token.startswith("pm_")
    assert (first.default, second.default) == (False, True)
    listed = stripe_tenant.client.get(f"/sources/{second.id}/")
    assert listed.json()["default"] is True
    assert "4000056655665556" not in listed.content.decode()
    stripe_customer = fake_stripe.client().v1.customers.retrieve(
        Customer.objects.get(pk=customer["id"]).stripe_id
    )
    assert stripe_customer.invoice_settings.default_payment_method == second.gateway_token


def test_without_stripe_the_card_is_saved_on_our_hosted_page(tenant):
    customer = create_customer(tenant)
    answer = tenant.client.post(
        f"/customers/{customer['id']}/setup_intent/",
        {"success_url": "https://shop.example.com/ok?from=app"},
        format="json",
    ).json()
    page = Client(HTTP_ACCEPT_LANGUAGE="en")  # the page's English words are asserted

    shown = page.get(answer["url"])
    declined = page.post(answer["url"], {"card_number": "4242 4242 4242 4241",
                                         "expiry": "12/30", "cvc": "123"})  # fmt: skip
    saved = page.post(answer["url"], {"card_number": "4242 4242 4242 4242",
                                      "expiry": "12/30", "cvc": "123"})  # fmt: skip

    assert answer["gateway"] == "sandbox"
    assert shown.status_code == 200 and b"Save card" in shown.content
    assert declined.status_code == 400 and b"not a valid card number" in declined.content
    source = Source.objects.get(customer_id=customer["id"])
    assert saved.status_code == 302
    assert saved["Location"] == f"https://shop.example.com/ok?from=app&source={source.id}"
    assert (source.gateway, source.default, source.card_last4) == ("sandbox", True, "4242")
    for response in (shown, declined, saved):
        assert b"4242424242424242" not in response.content


def test_a_tampered_or_old_setup_page_is_gone(tenant):
    customer = create_customer(tenant)
    url = tenant.client.post(
        f"/customers/{customer['id']}/setup_intent/",
        {"success_url": "https://shop.example.com/ok"},
        format="json",
    ).json()["url"]

    tampered = Client().get(url.replace("/hosted/", "x/hosted/"))
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2)):
        old = Client().get(url)

    assert (tampered.status_code, old.status_code) == (410, 410)
    assert not Source.objects.filter(customer_id=customer["id"]).exists()


def test_setup_intent_needs_a_success_url(stripe_tenant):
    customer = create_customer(stripe_tenant)

    response = stripe_tenant.client.post(
        f"/customers/{customer['id']}/setup_intent/", {}, format="json"
    )

    assert response.status_code == 400
    assert "success_url" in response.json()


@pytest.fixture
def invoice_of(stripe_tenant, fake_stripe):
    def make(card: str) -> tuple[Invoice, Source]:
        customer = create_customer(stripe_tenant)
        source = save_card(stripe_tenant, fake_stripe, customer["id"], card)
        invoice = FinalizedInvoiceFactory(
            workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
        )
        return invoice, source

    return make


def test_an_off_session_charge_succeeds_through_a_payment_intent(invoice_of, fake_stripe):
    invoice, source = invoice_of("4242424242424242")

    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    invoice.refresh_from_db()
    assert (payment.status, invoice.status) == ("succeeded", "paid")
    intent = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    assert intent.status == "succeeded"
    assert Decimal(intent.amount) == payment.amount  # CLP has no minor unit in Stripe
    assert intent.metadata["payment"] == payment.id


@pytest.mark.parametrize(
    ("card", "reason"),
    [("4000000000000341", "card_declined"), ("4000002500003155", "authentication_required")],
)
def test_declines_and_authentication_fail_the_payment_as_the_sandbox_does(invoice_of, card, reason):
    invoice, source = invoice_of(card)

    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    invoice.refresh_from_db()
    assert (payment.status, payment.failed_reason) == ("failed", reason)
    assert invoice.status == "finalized"  # still owed: the dunning path retries it


def test_a_charge_retried_with_the_same_payment_is_one_charge_in_stripe(invoice_of, fake_stripe):
    invoice, source = invoice_of("4242424242424242")
    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    from payments.gateways.registry import gateway_for

    again = gateway_for("stripe", workspace_id=payment.workspace_id, test_mode=True).charge(
        token=source.gateway_token, amount=payment.amount, currency="CLP", off_session=True,
        reference=payment.id,
    )  # fmt: skip

    assert again.reference == payment.gateway_reference


def test_a_refund_goes_through_stripe(invoice_of, fake_stripe):
    invoice, source = invoice_of("4242424242424242")
    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    services.payment_refund(payment=payment, amount=Decimal("100"), now=NOW)

    refund = Payment.objects.get(pk=payment.pk).refunds.get()
    assert refund.gateway_reference.startswith("re_")
    in_stripe = fake_stripe.client().v1.refunds.retrieve(refund.gateway_reference)
    assert (in_stripe.amount, in_stripe.status) == (100, "succeeded")


def test_two_refunds_asked_for_at_once_are_two_refunds_in_stripe(invoice_of, fake_stripe):
    invoice, source = invoice_of("4242424242424242")
    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    # Two requests (each its own Idempotency-Key) read the payment before either recorded
    # its refund: each is a refund of its own, not a repeat of the other.
    made = [
        services.payment_refund_at_gateway(payment=payment, amount=Decimal("100"), request_key=key)
        for key in ("first", "second")
    ]
    for amount, reference in made:
        services.payment_refund(payment=payment, amount=amount, now=NOW,
                                refunded_at_gateway=reference)  # fmt: skip

    references = [reference for _, reference in made]
    assert references[0] != references[1]
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("200")
    assert [fake_stripe.client().v1.refunds.retrieve(r).amount for r in references] == [100, 100]


def test_a_payment_link_is_paid_on_stripe_checkout_and_recorded_by_the_event(
    stripe_tenant, fake_stripe
):
    customer = create_customer(stripe_tenant)
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    link = stripe_tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id}, format="json"
    ).json()
    page = Client(HTTP_ACCEPT_LANGUAGE="en")  # the page's English words are asserted

    redirected = page.get(link["url"])
    session_id = checkout_session_id(redirected["Location"])
    session = fake_stripe.client().v1.checkout.sessions.retrieve(session_id)
    back = page.get(session.success_url)  # the payer returns before Stripe's event
    event = fake_stripe.complete_checkout(session_id)
    for _ in range(2):  # Stripe may send it twice
        assert post_stripe_event(stripe_tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    processed = services.stripe_event_process(event_id=stored.id, now=timezone.now())
    shown = page.get(session.success_url)

    assert redirected.status_code == 302
    assert (session.mode, session.amount_total) == ("payment", int(invoice.total))
    assert b"confirming your payment" in back.content
    assert processed.status == "processed", processed.outcome
    invoice.refresh_from_db()
    payment = Payment.objects.get(allocations__invoice=invoice)
    assert (invoice.status, payment.status, payment.gateway) == ("paid", "succeeded", "stripe")
    assert payment.gateway_reference == event["data"]["object"]["payment_intent"]
    assert shown.status_code == 200 and b"Payment successful" in shown.content
    assert stripe_tenant.client.get(f"/payment_links/links/{link['id']}/").json()["status"] == (
        "paid"
    )


def test_a_declined_card_is_not_saved_on_our_hosted_page(tenant):
    customer = create_customer(tenant)
    url = tenant.client.post(
        f"/customers/{customer['id']}/setup_intent/",
        {"success_url": "https://shop.example.com/ok"},
        format="json",
    ).json()["url"]
    page = Client(HTTP_ACCEPT_LANGUAGE="en")

    refused = page.post(url, {"card_number": sandbox.DECLINED, "expiry": "12/30", "cvc": "123"})

    assert refused.status_code == 402
    assert b"Your card was declined." in refused.content
    assert b'name="card_number"' in refused.content  # the form, to try another card
    assert not Source.objects.filter(customer_id=customer["id"]).exists()
    # Another card is saved as before.
    saved = page.post(url, {"card_number": sandbox.SUCCEEDS, "expiry": "12/30", "cvc": "123"})
    assert saved.status_code == 302
    assert Source.objects.get(customer_id=customer["id"]).card_last4 == "4242"


def test_the_api_shows_the_stripe_payment_intent_of_a_payment(invoice_of, stripe_tenant):
    invoice, source = invoice_of("4242424242424242")
    payment = services.payment_charge_invoice(invoice=invoice, source=source, now=NOW)

    shown = stripe_tenant.client.get(f"/payments/{payment.id}/").json()
    listed = stripe_tenant.client.get("/payments/", {"customer": payment.customer_id}).json()

    assert shown["gateway_reference"] == payment.gateway_reference
    assert shown["gateway_reference"].startswith("pi_")
    assert listed["results"][0]["gateway_reference"] == payment.gateway_reference


def test_a_card_is_saved_when_customers_are_not_synced(fake_stripe):
    """Saving a card needs the customer in Stripe: it is made there for the card."""
    from payments.tests.conftest import connect_stripe
    from tests.conftest import make_tenant

    tenant = make_tenant(test_mode=True)
    connect_stripe(tenant, fake_stripe, sync_customers=False)
    customer = create_customer(tenant)
    assert not Customer.objects.get(pk=customer["id"]).stripe_id  # not copied on create

    source = save_card(tenant, fake_stripe, customer["id"], "4242424242424242")

    stored = Customer.objects.get(pk=customer["id"])
    assert stored.stripe_id.startswith("cus_")
    assert (source.gateway, source.default, source.card_last4) == ("stripe", True, "4242")
    in_stripe = fake_stripe.client().v1.customers.retrieve(stored.stripe_id)
    assert in_stripe.metadata["billing_id"] == customer["id"]
    assert in_stripe.invoice_settings.default_payment_method == source.gateway_token


def _report(tenant: Tenant, event: dict[str, object]) -> StripeEvent:
    assert post_stripe_event(tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    return services.stripe_event_process(event_id=stored.id, now=timezone.now())


def test_a_late_report_of_an_earlier_setup_never_makes_its_card_the_default_again(
    stripe_tenant, fake_stripe
):
    customer = create_customer(stripe_tenant)
    page = stripe_tenant.client.post(
        f"/customers/{customer['id']}/setup_intent/",
        {"success_url": "https://shop.example.com/card-saved"},
        format="json",
    )
    completed = fake_stripe.complete_checkout(checkout_session_id(page.json()["url"]))
    assert _report(stripe_tenant, completed).status == "processed"
    first = Source.objects.get(customer_id=customer["id"], default=True)
    second = save_card(stripe_tenant, fake_stripe, customer["id"], "4000056655665556")
    session = completed["data"]["object"]
    setup = {
        "id": session["setup_intent"],
        "object": "setup_intent",
        "status": "succeeded",
        "customer": session["customer"],
        "metadata": session.get("metadata") or {},
    }

    # Stripe sends setup_intent.succeeded too, in no set order with the session's event.
    _report(stripe_tenant, stripe_event("setup_intent.succeeded", setup))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.default, second.default) == (False, True)

    stripe_tenant.client.delete(f"/sources/{first.id}/")
    _report(stripe_tenant, stripe_event("setup_intent.succeeded", setup))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.default, second.default) == ("finalized", False, True)
