"""A Stripe card that needs 3-D Secure on-session: the payment (and its intent) show the
page at Stripe where the payer authenticates (`redirect_url`), and Stripe sends the payer
back to the payment's `return_url`."""

import httpx
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.models import Intent, Payment
from payments.tests.conftest import create_customer
from payments.tests.test_stripe_cards import save_card

pytestmark = pytest.mark.django_db

RETURN_URL = "https://shop.example.com/paid"


@pytest.fixture
def card_needing_3ds(stripe_tenant, fake_stripe):
    customer = create_customer(stripe_tenant)
    source = save_card(stripe_tenant, fake_stripe, customer["id"], "4000002500003155")
    invoice = FinalizedInvoiceFactory(
        workspace=stripe_tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    return invoice, source


def authenticate_at_stripe(fake_stripe, payment_intent: str) -> None:
    intent = fake_stripe.client().v1.payment_intents.retrieve(payment_intent)
    answer = httpx.post(
        f"{fake_stripe.base_url}/v1/payment_intents/{payment_intent}/_authenticate",
        data={"client_secret": intent.client_secret, "success": "true"},
        headers={"Authorization": f"Bearer {fake_stripe.secret_key}"},
    )
    assert answer.status_code == 200, answer.text


def test_an_on_session_payment_shows_where_the_payer_authenticates(
    stripe_tenant, fake_stripe, card_needing_3ds, django_capture_on_commit_callbacks
):
    invoice, source = card_needing_3ds
    with django_capture_on_commit_callbacks(execute=True):
        created = stripe_tenant.client.post(
            "/payments/",
            {"invoice": invoice.id, "source": source.id, "return_url": RETURN_URL},
            format="json",
        )
    assert created.status_code == 201, created.content

    shown = stripe_tenant.client.get(f"/payments/{created.json()['id']}/").json()

    assert shown["status"] == "processing"
    payment = Payment.objects.get(pk=shown["id"])
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    assert in_stripe.status == "requires_action"
    assert in_stripe.next_action.type == "redirect_to_url"
    assert in_stripe.next_action.redirect_to_url.return_url == RETURN_URL
    assert shown["redirect_url"] == in_stripe.next_action.redirect_to_url.url

    # The payer authenticates there and comes back; the payer's page then asks us.
    authenticate_at_stripe(fake_stripe, payment.gateway_reference)
    answered = APIClient().post(
        f"/publishable/payments/{payment.id}/authenticate/",
        {"client_secret": payment.client_secret, "approved": True},
        format="json",
    )

    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "succeeded"
    assert answered.json()["redirect_url"] is None
    done = stripe_tenant.client.get(f"/payments/{payment.id}/").json()
    assert (done["status"], done["redirect_url"]) == ("succeeded", None)


def test_the_intent_and_the_payers_page_show_the_stripe_page_too(
    stripe_tenant, fake_stripe, card_needing_3ds
):
    invoice, source = card_needing_3ds
    created = stripe_tenant.client.post(
        "/intents/", {"invoice": invoice.id, "return_url": RETURN_URL}, format="json"
    ).json()
    intent = Intent.objects.get(pk=created["id"])

    # The payer pays the intent on its page with the saved card (on-session).
    confirmed = services.intent_confirm(intent=intent, source=source, now=timezone.now())

    payment = Payment.objects.get(pk=confirmed.payment_id)
    assert payment.status == "processing"
    assert payment.authentication_url.startswith(f"{fake_stripe.base_url}/_test/3ds/")
    shown = stripe_tenant.client.get(f"/intents/{intent.id}/").json()
    assert shown["redirect_url"] == payment.authentication_url
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    assert in_stripe.next_action.redirect_to_url.return_url == RETURN_URL
    # Not yet authenticated at Stripe: the payer's page still shows where to go.
    payer_view = APIClient().post(
        f"/publishable/payments/{payment.id}/authenticate/",
        {"client_secret": intent.client_secret, "approved": True},
        format="json",
    )
    assert payer_view.status_code == 200, payer_view.content
    assert payer_view.json()["status"] == "processing"
    assert payer_view.json()["redirect_url"] == payment.authentication_url


def test_an_intent_confirmed_through_the_api_is_on_session(
    stripe_tenant, fake_stripe, card_needing_3ds, django_capture_on_commit_callbacks
):
    """The merchant's checkout confirms the intent with the payer there: Stripe is asked
    on-session, so a card that needs 3-D Secure sends the payer to Stripe's page instead
    of being declined."""
    invoice, source = card_needing_3ds
    created = stripe_tenant.client.post(
        "/intents/", {"invoice": invoice.id, "return_url": RETURN_URL}, format="json"
    ).json()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = stripe_tenant.client.post(
            f"/intents/{created['id']}/confirm/", {"source": source.id}, format="json"
        )

    assert confirmed.status_code == 200, confirmed.content
    shown = stripe_tenant.client.get(f"/intents/{created['id']}/").json()
    payment = Payment.objects.get(pk=shown["payment"])
    assert (shown["status"], payment.status) == ("requires_payment_method", "processing")
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    assert in_stripe.status == "requires_action"
    assert in_stripe.next_action.redirect_to_url.return_url == RETURN_URL
    assert shown["redirect_url"] == in_stripe.next_action.redirect_to_url.url

    authenticate_at_stripe(fake_stripe, payment.gateway_reference)
    answered = APIClient().post(
        f"/publishable/payments/{payment.id}/authenticate/",
        {"client_secret": created["client_secret"], "approved": True},
        format="json",
    )

    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "succeeded"
    assert stripe_tenant.client.get(f"/intents/{created['id']}/").json()["status"] == "finalized"


def test_an_intent_confirmed_off_session_fails_a_card_that_needs_the_payer(
    stripe_tenant, fake_stripe, card_needing_3ds, django_capture_on_commit_callbacks
):
    invoice, source = card_needing_3ds
    created = stripe_tenant.client.post("/intents/", {"invoice": invoice.id}, format="json").json()

    with django_capture_on_commit_callbacks(execute=True):
        stripe_tenant.client.post(
            f"/intents/{created['id']}/confirm/",
            {"source": source.id, "off_session": True},
            format="json",
        )

    shown = stripe_tenant.client.get(f"/intents/{created['id']}/").json()
    assert (shown["status"], shown["failed_reason"]) == ("failed", "authentication_required")
    payment = Payment.objects.get(pk=shown["payment"])
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    assert in_stripe.status == "requires_payment_method"  # declined, as Stripe does


def test_a_payer_who_declines_the_authentication_cannot_pay_it_at_stripe_later(
    stripe_tenant, fake_stripe, card_needing_3ds, django_capture_on_commit_callbacks
):
    """The payer answers that they do not authenticate: the payment fails, and its
    PaymentIntent is cancelled at Stripe, so Stripe cannot take money we recorded as
    failed."""
    invoice, source = card_needing_3ds
    with django_capture_on_commit_callbacks(execute=True):
        created = stripe_tenant.client.post(
            "/payments/",
            {"invoice": invoice.id, "source": source.id, "return_url": RETURN_URL},
            format="json",
        )
    payment = Payment.objects.get(pk=created.json()["id"])

    answered = APIClient().post(
        f"/publishable/payments/{payment.id}/authenticate/",
        {"client_secret": payment.client_secret, "approved": False},
        format="json",
    )

    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "failed"
    in_stripe = fake_stripe.client().v1.payment_intents.retrieve(payment.gateway_reference)
    assert in_stripe.status == "canceled"
    late = httpx.post(
        f"{fake_stripe.base_url}/v1/payment_intents/{in_stripe.id}/_authenticate",
        data={"client_secret": in_stripe.client_secret, "success": "true"},
        headers={"Authorization": f"Bearer {fake_stripe.secret_key}"},
    )
    assert late.status_code == 400
