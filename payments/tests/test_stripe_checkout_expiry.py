"""A Stripe Checkout session ends with what it pays: it expires when its intent (or its
payment link) does, within the 30 minutes to 24 hours Stripe allows, so the payer cannot
pay at Stripe what we no longer wait for."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.models import Intent
from payments.tests.conftest import create_customer
from tests.conftest import Tenant
from tests.fake_stripe import FakeStripe, checkout_session_id

pytestmark = pytest.mark.django_db


def _invoice(tenant: Tenant) -> Invoice:
    customer = create_customer(tenant)
    invoice: Invoice = FinalizedInvoiceFactory(
        workspace=tenant.workspace, test_mode=True, customer_id=customer["id"]
    )
    return invoice


def _open_intent_page(tenant: Tenant, **fields: object) -> tuple[dict[str, object], str]:
    created = tenant.client.post(
        "/intents/",
        {"invoice": _invoice(tenant).id, **fields},
        format="json",
    )
    assert created.status_code == 201, created.content
    page = Client().get(f"/publishable/intents/{created.json()['client_secret']}/hosted/")
    assert page.status_code == 302, page.content
    return created.json(), checkout_session_id(page["Location"])


def _session_expires_at(fake: FakeStripe, session_id: str) -> int:
    return int(fake.client().v1.checkout.sessions.retrieve(session_id).expires_at)


def test_the_checkout_session_expires_with_its_intent(stripe_tenant, fake_stripe):
    expires_at = (timezone.now() + datetime.timedelta(hours=2)).replace(microsecond=0)

    _, session_id = _open_intent_page(stripe_tenant, expires_at=expires_at.isoformat())

    assert _session_expires_at(fake_stripe, session_id) == int(expires_at.timestamp())


def test_the_checkout_session_of_a_payment_link_expires_with_the_link(stripe_tenant, fake_stripe):
    expires_at = (timezone.now() + datetime.timedelta(hours=3)).replace(microsecond=0)
    link = stripe_tenant.client.post(
        "/payment_links/links/",
        {"invoice": _invoice(stripe_tenant).id, "expires_at": expires_at.isoformat()},
        format="json",
    ).json()

    page = Client().get(link["url"])

    session_id = checkout_session_id(page["Location"])
    assert _session_expires_at(fake_stripe, session_id) == int(expires_at.timestamp())
    intent = Intent.objects.get(payment_link_id=link["id"])
    assert intent.expires_at == expires_at
    # The link's end ends its intent, and the sweep expires the session at Stripe.
    assert services.checkouts_expire_due(now=expires_at) == 1
    assert fake_stripe.client().v1.checkout.sessions.retrieve(session_id).status == "expired"


def test_an_intent_ending_sooner_than_stripe_allows_gets_the_shortest_session(
    stripe_tenant, fake_stripe
):
    before = timezone.now()
    expires_at = before + datetime.timedelta(minutes=10)

    _created, session_id = _open_intent_page(stripe_tenant, expires_at=expires_at.isoformat())

    session_end = _session_expires_at(fake_stripe, session_id)
    assert (
        before + datetime.timedelta(minutes=30)
        <= datetime.datetime.fromtimestamp(session_end, datetime.UTC)
        <= timezone.now() + datetime.timedelta(minutes=32)
    )
    # Stripe's floor outlasts the intent: the sweep expires the session at the intent's end.
    assert services.checkouts_expire_due(now=expires_at) == 1
    assert fake_stripe.client().v1.checkout.sessions.retrieve(session_id).status == "expired"


def test_an_intent_outlasting_a_day_gets_a_day_long_session_and_then_a_new_one(
    stripe_tenant, fake_stripe
):
    before = timezone.now()
    expires_at = before + datetime.timedelta(days=3)

    created, session_id = _open_intent_page(stripe_tenant, expires_at=expires_at.isoformat())

    session_end = datetime.datetime.fromtimestamp(
        _session_expires_at(fake_stripe, session_id), datetime.UTC
    )
    assert session_end <= before + datetime.timedelta(hours=24)
    assert session_end >= before + datetime.timedelta(hours=23)
    # Once that session has closed at Stripe, the payer opening the page meets a new one.
    fake_stripe.client().v1.checkout.sessions.expire(session_id)
    again = Client().get(f"/publishable/intents/{created['client_secret']}/hosted/")
    assert again.status_code == 302
    renewed = checkout_session_id(again["Location"])
    assert renewed != session_id
    assert fake_stripe.client().v1.checkout.sessions.retrieve(renewed).status == "open"
    assert Intent.objects.get(pk=created["id"]).checkout_session == renewed


def test_the_page_opened_twice_meets_the_same_session(stripe_tenant, fake_stripe):
    expires_at = timezone.now() + datetime.timedelta(hours=5)
    created, session_id = _open_intent_page(stripe_tenant, expires_at=expires_at.isoformat())

    again = Client().get(f"/publishable/intents/{created['client_secret']}/hosted/")

    assert checkout_session_id(again["Location"]) == session_id
