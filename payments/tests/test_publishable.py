"""Publishable (browser) routes: a payer without an API token authorizes a payment and
saves a card, addressed only by a key they were given; a wrong key is a 404."""

import datetime

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Event
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services, tasks
from payments.gateways import sandbox
from payments.gateways.base import CardInput
from payments.invoice_reads import invoice_amount_payable
from payments.models import Intent, Payment, Source
from payments.tests.factories import PaymentLinkFactory
from tests.conftest import make_tenant
from tests.live import openapi_document
from tests.numbers import D
from tests.openapi_statuses import undocumented

CARD = {"exp_month": 12, "exp_year": 2034}
PAYER_PAYMENT_FIELDS = {
    "id",
    "workspace",
    "amount",
    "currency",
    "description",
    "status",
    "requires_authentication",
    "redirect_url",
    "authentication_expires_at",
    "failed_reason",
    "payment_date",
    "return_url",
}


@pytest.fixture
def browser():
    return APIClient()  # no token, no workspace header


@pytest.fixture
def invoice(tenant):
    return FinalizedInvoiceFactory(workspace=tenant.workspace)  # 1,190 CLP due


def _waiting_payment(tenant, invoice):
    response = tenant.client.post(
        "/payments/", {"invoice": invoice.id, "status": "requires_payment_method"}
    )
    assert response.status_code == 201, response.content
    payment = response.json()
    assert payment["client_secret"].startswith("pay_secret_")
    return payment


def _authorize(browser, payment, secret=None, **body):
    return browser.post(
        f"/publishable/payments/{payment['id']}/authorize/",
        {"client_secret": secret or payment["client_secret"], **body},
    )


def _amount_due(tenant, invoice):
    return tenant.client.get(f"/invoices/{invoice.id}/").json()["amount_due"]


def test_a_payer_pays_a_waiting_payment_with_a_card_and_no_token(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)

    response = _authorize(browser, payment, card={"number": sandbox.SUCCEEDS, **CARD})

    assert response.status_code == 200, response.content
    shown = response.json()
    assert set(shown) == PAYER_PAYMENT_FIELDS  # no customer, secret, source or invoice
    assert (shown["status"], shown["amount"], shown["currency"]) == ("succeeded", D("1190"), "CLP")
    assert shown["requires_authentication"] is False
    assert _amount_due(tenant, invoice) == D("0")
    source = Source.objects.get(payments__id=payment["id"])
    assert (source.usage, source.status, source.card_last4) == ("single", "consumed", "4242")
    assert source.customer_id == invoice.customer_id
    assert source.payer_scope == payment["id"]


def test_the_3155_card_needs_the_payers_authentication_step(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)
    now = timezone.now()

    response = _authorize(
        browser, payment, card={"number": sandbox.REQUIRES_AUTHENTICATION, **CARD}
    )

    assert response.status_code == 200, response.content
    shown = response.json()
    assert (shown["status"], shown["requires_authentication"]) == ("processing", True)
    expires_at = datetime.datetime.fromisoformat(shown["authentication_expires_at"])
    window = services.PAYMENT_AUTHENTICATION_WINDOW
    assert now + window <= expires_at <= timezone.now() + window
    assert invoice_amount_payable(invoice) == 0  # held while the payer authenticates

    answered = browser.post(
        f"/publishable/payments/{payment['id']}/authenticate/",
        {"client_secret": payment["client_secret"], "approved": True},
    )

    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "succeeded"
    assert answered.json()["requires_authentication"] is False
    again = browser.post(
        f"/publishable/payments/{payment['id']}/authenticate/",
        {"client_secret": payment["client_secret"], "approved": True},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "payment_not_awaiting_authentication"


def test_a_refused_authentication_fails_the_payment_and_frees_the_invoice(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)
    _authorize(browser, payment, card={"number": sandbox.REQUIRES_AUTHENTICATION, **CARD})

    answered = browser.post(
        f"/publishable/payments/{payment['id']}/authenticate/",
        {"client_secret": payment["client_secret"], "approved": False},
    )

    assert answered.status_code == 200
    assert (answered.json()["status"], answered.json()["failed_reason"]) == (
        "failed",
        "authentication_failed",
    )
    assert _amount_due(tenant, invoice) == D("1190")


def test_an_intents_client_secret_drives_its_payments_authentication(tenant, invoice, browser):
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    services.intent_pay_with_card(
        intent=Intent.objects.get(pk=intent["id"]),
        card=CardInput(sandbox.REQUIRES_AUTHENTICATION, 12, 2034),
        now=timezone.now(),
    )
    payment_id = Intent.objects.get(pk=intent["id"]).payment_id

    answered = browser.post(
        f"/publishable/payments/{payment_id}/authenticate/",
        {"client_secret": intent["client_secret"], "approved": True},
    )

    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "succeeded"
    assert Intent.objects.get(pk=intent["id"]).status == "finalized"


def test_a_declined_card_fails_the_payment_and_a_second_authorize_conflicts(
    tenant, invoice, browser
):
    payment = _waiting_payment(tenant, invoice)

    declined = _authorize(browser, payment, card={"number": sandbox.DECLINED, **CARD})

    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["failed_reason"]) == (
        "failed",
        "card_declined",
    )
    again = _authorize(browser, payment, card={"number": sandbox.SUCCEEDS, **CARD})
    assert again.status_code == 409
    assert again.json()["code"] == "payment_invalid_transition"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"card": {"number": "4111111111111111", **CARD}}, "card.number"),  # not a test card
        ({"card": {"number": "1234", **CARD}}, "card.number"),
        ({"card": {"number": sandbox.SUCCEEDS, "exp_month": 1, "exp_year": 2001}}, "card.exp_year"),
        ({}, "non_field_errors"),
        (
            {"card": {"number": sandbox.SUCCEEDS, **CARD}, "source": "sou_x"},
            "non_field_errors",
        ),
        ({"card": {"number": sandbox.SUCCEEDS, **CARD}, "customer": "cus_x"}, "customer"),
    ],
)
def test_bad_authorize_bodies_are_400s_and_store_nothing(tenant, invoice, browser, body, field):
    payment = _waiting_payment(tenant, invoice)

    response = _authorize(browser, payment, **body)

    assert response.status_code == 400, response.content
    *parents, leaf = field.split(".")
    errors = response.json()
    for parent in parents:
        errors = errors[parent]
    assert leaf in errors
    assert not Source.objects.exists()
    assert Payment.objects.get(pk=payment["id"]).status == "requires_payment_method"


def test_only_the_right_secret_opens_a_payment(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)
    other_payment = _waiting_payment(tenant, FinalizedInvoiceFactory(workspace=tenant.workspace))
    other_tenant = make_tenant()
    foreign = _waiting_payment(
        other_tenant, FinalizedInvoiceFactory(workspace=other_tenant.workspace)
    )
    card = {"card": {"number": sandbox.SUCCEEDS, **CARD}}

    wrong_keys = [
        ("pay_secret_guessed", payment["id"]),
        (other_payment["client_secret"], payment["id"]),  # another payment's secret
        (foreign["client_secret"], payment["id"]),  # another workspace's secret
        (payment["client_secret"], foreign["id"]),
    ]
    for secret, payment_id in wrong_keys:
        response = browser.post(
            f"/publishable/payments/{payment_id}/authorize/", {"client_secret": secret, **card}
        )
        assert response.status_code == 404, (secret, payment_id)
    bare = browser.post(f"/publishable/payments/{payment['id']}/authorize/", card)
    assert bare.status_code == 404  # the id alone opens nothing
    # The token-only route refuses a browser without one.
    assert browser.post(f"/payments/{payment['id']}/authorize/", {}).status_code == 401
    assert Payment.objects.get(pk=payment["id"]).status == "requires_payment_method"
    assert not Source.objects.exists()


def test_a_payer_may_not_charge_the_customers_saved_sources(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)
    stranger = CustomerFactory(workspace=tenant.workspace)
    strangers = services.source_create_sandbox_card(
        customer=stranger,
        card_number=sandbox.SUCCEEDS,
        exp_month=12,
        exp_year=2034,
        now=timezone.now(),
    )
    other_tenant = make_tenant()
    foreign = services.source_create_sandbox_card(
        customer=CustomerFactory(workspace=other_tenant.workspace),
        card_number=sandbox.SUCCEEDS,
        exp_month=12,
        exp_year=2034,
        now=timezone.now(),
    )
    own = services.source_create_sandbox_card(
        customer=invoice.customer,
        card_number=sandbox.SUCCEEDS,
        exp_month=12,
        exp_year=2034,
        now=timezone.now(),
    )

    # The customer's own saved card too: a payment's secret is not a licence to charge it.
    for source in (strangers, foreign, own, "sou_unknown"):
        refused = _authorize(browser, payment, source=getattr(source, "id", source))
        assert refused.status_code == 400
        assert "source" in refused.json()

    assert Payment.objects.get(pk=payment["id"]).status == "requires_payment_method"


def test_a_payer_saves_a_card_with_a_payments_secret_and_pays_with_it(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)

    created = browser.post(
        "/publishable/sources/",
        {
            "key": payment["client_secret"],
            "usage": "reusable",
            "save_consent": True,
            "card": {"number": sandbox.SUCCEEDS, **CARD},
        },
    )

    assert created.status_code == 201, created.content
    shown = created.json()
    assert set(shown) == {"id", "gateway", "usage", "status", "card", "created"}
    assert shown["card"] == {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}
    assert (shown["usage"], shown["status"]) == ("reusable", "chargeable")
    source = Source.objects.get(pk=shown["id"])
    assert source.customer_id == invoice.customer_id  # the customer's saved card
    assert _authorize(browser, payment, source=shown["id"]).json()["status"] == "succeeded"


def test_a_card_saved_on_an_anonymous_link_is_single_use_and_scoped_to_it(tenant, invoice, browser):
    link = PaymentLinkFactory(workspace=tenant.workspace)  # no customer

    reusable = browser.post(
        "/publishable/sources/",
        {
            "key": link.publishable_key,
            "usage": "reusable",
            "save_consent": True,
            "card": {"number": sandbox.SUCCEEDS, **CARD},
        },
    )
    single = browser.post(
        "/publishable/sources/",
        {"key": link.publishable_key, "card": {"number": sandbox.SUCCEEDS, **CARD}},
    )

    assert reusable.status_code == 400
    assert "usage" in reusable.json()
    assert single.status_code == 201, single.content
    assert single.json()["usage"] == "single"
    source = Source.objects.get(pk=single.json()["id"])
    assert (source.customer_id, source.payer_scope) == (None, link.id)
    # No other checkout may charge it: it names no customer and another key made it.
    payment = _waiting_payment(tenant, invoice)
    refused = _authorize(browser, payment, source=source.id)
    assert refused.status_code == 400
    assert "source" in refused.json()


def test_an_intents_secret_saves_a_card_for_its_customer(tenant, invoice, browser):
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()

    created = browser.post(
        "/publishable/sources/",
        {"key": intent["client_secret"], "card": {"number": sandbox.SUCCEEDS, **CARD}},
    )

    assert created.status_code == 201, created.content
    source = Source.objects.get(pk=created.json()["id"])
    assert (source.customer_id, source.payer_scope) == (invoice.customer_id, intent["id"])


def test_source_keys_that_open_nothing_are_404s_and_closed_checkouts_409s(tenant, browser):
    other_tenant = make_tenant()
    expired = PaymentLinkFactory(
        workspace=tenant.workspace,
        expires_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    paid = PaymentLinkFactory(workspace=tenant.workspace, paid_at=timezone.now())
    card = {"card": {"number": sandbox.SUCCEEDS, **CARD}}

    bare_id = PaymentLinkFactory(workspace=other_tenant.workspace).id  # an id is not a key
    for key in ("pk_link_guessed", "", bare_id):
        response = browser.post("/publishable/sources/", {"key": key, **card})
        assert response.status_code in (400, 404), key
        assert response.status_code == (400 if key == "" else 404)
    for link, code in ((expired, "payment_link_expired"), (paid, "payment_link_paid")):
        response = browser.post("/publishable/sources/", {"key": link.publishable_key, **card})
        assert response.status_code == 409
        assert response.json()["code"] == code
    assert not Source.objects.exists()


def test_authentication_after_the_window_is_refused_and_the_sweep_releases_the_invoice(
    tenant, invoice, browser
):
    payment = _waiting_payment(tenant, invoice)
    _authorize(browser, payment, card={"number": sandbox.REQUIRES_AUTHENTICATION, **CARD})
    later = timezone.now() + services.PAYMENT_AUTHENTICATION_WINDOW + datetime.timedelta(minutes=1)

    with time_machine.travel(later, tick=False):
        late = browser.post(
            f"/publishable/payments/{payment['id']}/authenticate/",
            {"client_secret": payment["client_secret"], "approved": True},
        )
        assert late.status_code == 409
        assert late.json()["code"] == "payment_authentication_expired"
        assert tasks.expire_due_checkouts() == 1
        assert tasks.expire_due_checkouts() == 0  # a second run finds nothing

    stored = Payment.objects.get(pk=payment["id"])
    assert (stored.status, stored.failed_reason) == ("incomplete", "authentication_expired")
    assert stored.source.status == "failed"  # a single-use card that was never charged
    assert invoice_amount_payable(invoice) == 1190
    assert Event.objects.filter(object_id=payment["id"], type="payment.incomplete").exists()


def test_the_sweep_expires_an_intent_left_at_authentication(tenant, invoice):
    now = timezone.now()
    intent = services.intent_create(
        workspace=tenant.workspace, test_mode=False, invoice=invoice, now=now
    )
    services.intent_pay_with_card(
        intent=intent, card=CardInput(sandbox.REQUIRES_AUTHENTICATION, 12, 2034), now=now
    )

    later = now + services.PAYMENT_AUTHENTICATION_WINDOW
    assert services.checkouts_expire_due(now=later - datetime.timedelta(seconds=1)) == 0
    assert services.checkouts_expire_due(now=later) == 1

    intent.refresh_from_db()
    assert (intent.status, intent.failed_reason) == ("expired", "authentication_expired")
    assert intent.payment.status == "incomplete"


def test_the_beat_task_expires_a_due_intent(tenant, invoice):
    now = timezone.now()
    intent = services.intent_create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        now=now,
        expires_at=now + datetime.timedelta(minutes=30),
    )
    assert tasks.expire_due_checkouts.apply().get() == 0

    with time_machine.travel(now + datetime.timedelta(minutes=31), tick=False):
        assert tasks.expire_due_checkouts.apply().get() == 1

    intent.refresh_from_db()
    assert intent.status == "expired"


def test_the_sweep_is_on_the_beat_schedule():
    from config.celery import app

    entries = [e["task"] for e in app.conf.beat_schedule.values()]

    assert "payments.tasks.expire_due_checkouts" in entries
    assert "payments.tasks.expire_due_checkouts" in app.tasks


def test_test_mode_payer_actions_and_link_states_follow_the_test_clock(db, browser):
    """The payer and the link's readers act in the test world: the authentication window
    opens at the test clock, and a link lapsed by the test clock reads as expired."""
    tenant = make_tenant(test_mode=True)
    ahead = datetime.datetime(2031, 7, 1, 15, tzinfo=datetime.UTC)
    tenant.workspace.test_clock_at = ahead
    tenant.workspace.save(update_fields=["test_clock_at"])
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace, test_mode=True)
    lapsed = PaymentLinkFactory(
        workspace=tenant.workspace,
        test_mode=True,
        expires_at=datetime.datetime(2031, 6, 30, tzinfo=datetime.UTC),
    )

    payment = _waiting_payment(tenant, invoice)
    shown = _authorize(
        browser, payment, card={"number": sandbox.REQUIRES_AUTHENTICATION, **CARD}
    ).json()
    public = browser.get(f"/publishable/payment_links/links/{lapsed.publishable_key}/").json()
    listed = tenant.client.get("/payment_links/links/").json()["results"]

    expires_at = datetime.datetime.fromisoformat(shown["authentication_expires_at"])
    assert expires_at == ahead + services.PAYMENT_AUTHENTICATION_WINDOW
    assert public["status"] == "expired"
    assert [link["status"] for link in listed] == ["expired"]


def test_an_idempotency_key_replays_the_first_authorize(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)
    body = {"client_secret": payment["client_secret"], "card": {"number": sandbox.SUCCEEDS, **CARD}}
    url = f"/publishable/payments/{payment['id']}/authorize/"

    first = browser.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-once")
    replay = browser.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-once")

    assert first.status_code == 200, first.content
    assert replay.status_code == 200, replay.content
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_an_idempotency_key_replays_the_first_source(tenant, invoice, browser):
    link = PaymentLinkFactory(workspace=tenant.workspace)
    body = {"key": link.publishable_key, "card": {"number": sandbox.SUCCEEDS, **CARD}}

    first = browser.post("/publishable/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    replay = browser.post("/publishable/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == 201, first.content
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert Source.objects.count() == 1


def test_a_payer_key_may_be_as_long_as_the_documented_limit(tenant, invoice, browser):
    # spec/api.md: keys up to 255 characters; the payer's are scoped apart from the
    # merchant's without eating into that limit.
    link = PaymentLinkFactory(workspace=tenant.workspace)
    body = {"key": link.publishable_key, "card": {"number": sandbox.SUCCEEDS, **CARD}}
    key = "k" * 255

    first = browser.post("/publishable/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    replay = browser.post("/publishable/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    too_long = browser.post(
        "/publishable/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY=key + "k"
    )

    assert first.status_code == 201, first.content
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert (too_long.status_code, too_long.json()["code"]) == (400, "idempotency_key_invalid")


def test_a_payer_key_never_answers_with_the_merchant_s_response(tenant, invoice, browser):
    merchant = tenant.client.post(
        "/payments/",
        {"invoice": invoice.id, "status": "requires_payment_method"},
        HTTP_IDEMPOTENCY_KEY="shared",
    )
    payment = merchant.json()
    body = {"client_secret": payment["client_secret"], "card": {"number": sandbox.SUCCEEDS, **CARD}}

    payer = browser.post(
        f"/publishable/payments/{payment['id']}/authorize/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared",
    )

    assert payer.status_code == 200, payer.content
    assert payer.json()["status"] == "succeeded"


def test_a_reusable_card_needs_the_payers_consent(tenant, invoice, browser):
    payment = _waiting_payment(tenant, invoice)
    body = {"key": payment["client_secret"], "card": {"number": sandbox.SUCCEEDS, **CARD}}

    unconsented = browser.post("/publishable/sources/", {**body, "usage": "reusable"})
    default = browser.post("/publishable/sources/", body)

    assert unconsented.status_code == 400
    assert "save_consent" in unconsented.json()
    assert default.status_code == 201
    assert default.json()["usage"] == "single"
    assert not Source.objects.filter(usage="reusable").exists()


@pytest.fixture
def small_budgets(settings):
    from django.core.cache import cache

    settings.PUBLISHABLE_KEY_RATE = "3/day"
    settings.PUBLISHABLE_ADDRESS_RATE = "5/day"
    cache.clear()
    yield
    cache.clear()


def test_sources_are_limited_per_key(tenant, invoice, small_budgets):
    link = PaymentLinkFactory(workspace=tenant.workspace, customer=invoice.customer)
    other = PaymentLinkFactory(workspace=tenant.workspace, customer=invoice.customer)
    card = {"number": sandbox.SUCCEEDS, **CARD}

    statuses = [
        APIClient(REMOTE_ADDR=f"203.0.113.{n}")
        .post("/publishable/sources/", {"key": link.publishable_key, "card": card})
        .status_code
        for n in range(5)
    ]
    another_key = APIClient(REMOTE_ADDR="203.0.113.99").post(
        "/publishable/sources/", {"key": other.publishable_key, "card": card}
    )

    assert statuses == [201, 201, 201, 429, 429]
    assert another_key.status_code == 201
    assert Source.objects.count() == 4


def test_publishable_posts_are_limited_per_address(tenant, invoice, small_budgets):
    links = [PaymentLinkFactory(workspace=tenant.workspace) for _ in range(7)]
    browser = APIClient(REMOTE_ADDR="198.51.100.4")
    card = {"number": sandbox.SUCCEEDS, **CARD}

    statuses = [
        browser.post(
            "/publishable/sources/", {"key": link.publishable_key, "card": card}
        ).status_code
        for link in links
    ]

    assert statuses == [201] * 5 + [429] * 2
    assert (
        browser.post("/publishable/sources/", {"key": links[0].publishable_key}).json()["code"]
        == "throttled"
    )


def test_a_new_x_forwarded_for_on_each_post_does_not_escape_the_address_budget(
    tenant, invoice, small_budgets
):
    links = [PaymentLinkFactory(workspace=tenant.workspace) for _ in range(7)]
    card = {"number": sandbox.SUCCEEDS, **CARD}

    statuses = [
        APIClient(REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        .post("/publishable/sources/", {"key": link.publishable_key, "card": card})
        .status_code
        for n, link in enumerate(links)
    ]

    assert statuses == [201] * 5 + [429] * 2


def test_any_key_a_caller_sends_makes_a_short_plain_cache_key():
    from types import SimpleNamespace

    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from payments.api.throttling import PublishableKeyThrottle

    sent = "clé de paiement ✓ " * 30  # spaces, accents and 540 characters
    request = Request(
        APIRequestFactory().post("/publishable/sources/", {"key": sent}, format="json"),
        parsers=[JSONParser()],
    )
    view = SimpleNamespace(kwargs={})

    key = PublishableKeyThrottle().get_cache_key(request, view)

    # What memcached and every other cache accept: ASCII, no spaces, under 250 characters;
    # the same key sent again counts against the same budget.
    assert key is not None and key.isascii() and " " not in key and len(key) < 250
    assert key == PublishableKeyThrottle().get_cache_key(request, view)


def test_a_payer_key_reused_with_another_body_is_a_422_the_document_declares(
    tenant, invoice, browser
):
    link = PaymentLinkFactory(workspace=tenant.workspace)
    body = {"key": link.publishable_key, "card": {"number": sandbox.SUCCEEDS, **CARD}}
    browser.post("/publishable/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY="k2")

    reused = browser.post(
        "/publishable/sources/",
        {**body, "usage": "single"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )

    assert reused.status_code == 422, reused.content
    assert undocumented({("POST", "/publishable/sources/", 422)}, openapi_document()) == []


@pytest.mark.parametrize(
    "path",
    [
        "/publishable/sources/",
        "/publishable/payments/{payment_id}/authorize/",
        "/publishable/payments/{payment_id}/authenticate/",
    ],
)
def test_the_payer_posts_document_the_idempotency_key_they_honour(path):
    post = openapi_document()["paths"][path]["post"]

    headers = [p["name"] for p in post["parameters"] if p["in"] == "header"]
    assert "Idempotency-Key" in headers
    assert {"409", "422"} <= set(post["responses"])
