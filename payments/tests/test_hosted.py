"""The hosted checkout through Django's test client (the browser test drives the same
pages in chromium): outcomes, retries, the authentication step, expired and paid links."""

import datetime
import logging

import pytest
from django.test import Client

from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments.gateways import sandbox
from payments.models import Intent, Payment, Source
from payments.tests.factories import PaymentLinkFactory
from payments.tests.hosted_forms import hidden_fields
from tests.numbers import D


@pytest.fixture
def browser():
    # An English-speaking payer; the language choice has tests of its own below.
    return Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})


def _form(browser, url):
    """The hidden fields of the checkout form as the page gave them."""
    page = browser.get(url)
    assert page.status_code == 200, page.content
    return hidden_fields(page)


def _pay(browser, url, number, expiry="12/34"):
    return browser.post(
        url, {"card_number": number, "expiry": expiry, "cvc": "123", **_form(browser, url)}
    )


@pytest.fixture
def link(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    return PaymentLinkFactory(
        workspace=tenant.workspace,
        invoice=invoice,
        customer=invoice.customer,
        amount=invoice.total_adjusted,
        return_url="https://shop.example.com/done",
    )


def _url(link):
    return f"/publishable/payment_links/links/{link.publishable_key}/hosted/"


def test_the_page_shows_the_workspace_description_and_amount(browser, link):
    page = browser.get(_url(link))

    html = page.content.decode()
    assert link.workspace.name in html
    assert "Consulting" in html
    assert "$1.190" in html
    assert '<label for="card_number">' in html
    assert 'name="viewport"' in html


def test_a_successful_card_pays_the_invoice(browser, link):
    response = _pay(browser, _url(link), "4242 4242 4242 4242")

    assert response.status_code == 302
    result = browser.get(response["Location"])
    html = result.content.decode()
    assert "Payment successful" in html
    intent = Intent.objects.get(payment_link=link)
    assert intent.status == "finalized"
    assert intent.payment.status == "succeeded"
    link.invoice.refresh_from_db()
    assert link.invoice.status == "paid"
    assert f"https://shop.example.com/done?intent={intent.id}&amp;status=finalized" in html
    # The link is spent: it says so.
    again = browser.get(_url(link))
    assert "already been paid" in again.content.decode()


def test_the_return_url_keeps_its_query_and_fragment(browser, link):
    link.return_url = "https://shop.example.com/back?order=7#done"
    link.save(update_fields=["return_url"])

    response = _pay(browser, _url(link), "4242 4242 4242 4242")

    html = browser.get(response["Location"]).content.decode()
    intent = Intent.objects.get(payment_link=link)
    back = f"https://shop.example.com/back?order=7&amp;intent={intent.id}&amp;status=finalized#done"
    assert back in html


def test_a_declined_card_shows_the_error_and_allows_a_retry(browser, link, caplog):
    caplog.set_level(logging.DEBUG)

    declined = _pay(browser, _url(link), sandbox.DECLINED)

    assert declined.status_code == 402
    html = declined.content.decode()
    assert "Your card was declined" in html
    assert sandbox.DECLINED not in html  # the form comes back empty
    retried = _pay(browser, _url(link), sandbox.SUCCEEDS)
    assert retried.status_code == 302
    statuses = sorted(Payment.objects.values_list("status", flat=True))
    assert statuses == ["failed", "succeeded"]
    assert sandbox.DECLINED not in caplog.text
    assert sandbox.SUCCEEDS not in caplog.text


def test_insufficient_funds_says_so(browser, link):
    response = _pay(browser, _url(link), sandbox.INSUFFICIENT_FUNDS)

    assert "insufficient funds" in response.content.decode()


def test_the_authentication_card_goes_through_its_step(browser, link):
    response = _pay(browser, _url(link), sandbox.REQUIRES_AUTHENTICATION)
    step_url = response["Location"]
    step = browser.get(step_url)
    assert "confirm this payment" in step.content.decode()
    link.invoice.refresh_from_db()
    assert link.invoice.status == "pending"

    confirmed = browser.post(
        step_url, {"decision": "approve", "csrfmiddlewaretoken": step.cookies["csrftoken"].value}
    )

    assert confirmed.status_code == 302
    assert "Payment successful" in browser.get(step_url).content.decode()
    link.invoice.refresh_from_db()
    assert link.invoice.status == "paid"


def test_a_test_mode_checkout_runs_on_the_workspaces_test_clock(browser, tenant):
    """The payer acts in the link's world: a link expiring before the test clock is
    expired there, and a payment is stamped at the clock's time, authentication included."""
    ahead = datetime.datetime(2031, 7, 1, 15, tzinfo=datetime.UTC)
    tenant.workspace.test_clock_at = ahead
    tenant.workspace.save(update_fields=["test_clock_at"])
    lapsed = PaymentLinkFactory(
        workspace=tenant.workspace,
        test_mode=True,
        expires_at=datetime.datetime(2031, 6, 30, tzinfo=datetime.UTC),
    )
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace, test_mode=True)
    link = PaymentLinkFactory(
        workspace=tenant.workspace, test_mode=True, invoice=invoice, amount=invoice.total_adjusted
    )

    assert browser.get(_url(lapsed)).status_code == 410
    step_url = _pay(browser, _url(link), sandbox.REQUIRES_AUTHENTICATION)["Location"]
    step = browser.get(step_url)
    browser.post(
        step_url, {"decision": "approve", "csrfmiddlewaretoken": step.cookies["csrftoken"].value}
    )

    link.refresh_from_db()
    payment = Intent.objects.get(payment_link=link).payment
    assert payment.status == "succeeded"
    assert (link.paid_at, payment.date) == (ahead, ahead.date())


def test_a_failed_authentication_fails_and_offers_a_retry(browser, link):
    step_url = _pay(browser, _url(link), sandbox.REQUIRES_AUTHENTICATION)["Location"]
    token = browser.get(step_url).cookies["csrftoken"].value

    browser.post(step_url, {"decision": "reject", "csrfmiddlewaretoken": token})

    page = browser.get(step_url)
    assert page.status_code == 402
    assert "authentication failed" in page.content.decode()
    assert _url(link) in page.content.decode()
    link.invoice.refresh_from_db()
    assert link.invoice.status == "finalized"


def test_an_expired_link_says_so(browser, tenant):
    expired = PaymentLinkFactory(
        workspace=tenant.workspace,
        expires_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
    )

    page = browser.get(_url(expired))

    assert page.status_code == 410
    assert "expired" in page.content.decode()


def test_the_link_of_a_cancelled_invoice_says_so_and_takes_no_card(browser, tenant, link):
    link.invoice.status = "cancelled"
    link.invoice.save(update_fields=["status"])

    page = browser.get(_url(link))
    public = browser.get(f"/publishable/payment_links/links/{link.publishable_key}/")

    assert page.status_code == 410
    assert "cancelled" in page.content.decode()
    assert "<form" not in page.content.decode()
    assert public.json()["status"] == "cancelled"


def test_bad_card_input_is_a_400_without_a_charge(browser, link):
    response = _pay(browser, _url(link), "1234", expiry="13/99")

    assert response.status_code == 400
    assert "MM/YY" in response.content.decode()
    assert not Payment.objects.exists()
    assert not Source.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(browser, link):
    response = browser.post(_url(link), {"card_number": sandbox.SUCCEEDS})

    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_an_api_intent_is_paid_on_its_hosted_page(browser, tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post(
        "/intents/", {"invoice": invoice.id, "return_url": "https://shop.example.com/r"}
    ).json()
    url = f"/publishable/intents/{intent['client_secret']}/hosted/"

    response = _pay(browser, url, sandbox.SUCCEEDS)

    assert response.status_code == 302
    assert "Payment successful" in browser.get(url).content.decode()
    assert tenant.client.get(f"/intents/{intent['id']}/").json()["status"] == "finalized"


def test_a_refused_checkout_tells_the_payer_nothing_of_the_invoice(browser, tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    # Paid in part another way meanwhile: the intent no longer matches what is owed.
    transfer = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "100"})
    assert transfer.status_code == 201, transfer.content
    url = f"/publishable/intents/{intent['client_secret']}/hosted/"

    response = _pay(browser, url, sandbox.SUCCEEDS)

    html = response.content.decode()
    assert response.status_code == 409
    assert "can no longer be made here" in html
    assert invoice.id not in html
    assert intent["id"] not in html


def test_a_new_attempt_supersedes_one_left_at_the_authentication_step(browser, link):
    _pay(browser, _url(link), sandbox.REQUIRES_AUTHENTICATION)

    response = _pay(browser, _url(link), sandbox.SUCCEEDS)

    assert response.status_code == 302
    statuses = dict(Intent.objects.values_list("payment__status", "status"))
    assert statuses == {"cancelled": "cancelled", "succeeded": "finalized"}
    link.invoice.refresh_from_db()
    assert link.invoice.status == "paid"


def test_a_link_shows_and_charges_what_its_invoice_owes_after_a_credit_note(browser, tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    # 10,000 + IVA = 11,900, as in the README's walk-through.
    invoice.lines.update(amount=10000, total=10000)
    Invoice.objects.filter(pk=invoice.pk).update(
        amount=10000, subtotal=10000, tax=1900, total=11900, total_adjusted=11900
    )
    created = tenant.client.post("/payment_links/links/", {"invoice": invoice.id}).json()
    assert created["amount"] == D("11900")
    note = tenant.client.post(
        "/creditnotes/",
        {"invoice": invoice.id, "reason": 3, "lines": [{"name": "Descuento", "amount": "5000"}]},
        format="json",
    ).json()
    tenant.client.post(f"/creditnotes/{note['id']}/finalize/")
    key = created["publishable_key"]

    public = browser.get(f"/publishable/payment_links/links/{key}/").json()
    page = browser.get(f"/publishable/payment_links/links/{key}/hosted/").content.decode()
    paid = _pay(browser, f"/publishable/payment_links/links/{key}/hosted/", sandbox.SUCCEEDS)

    assert public["amount"] == D("5950")
    assert "$5.950" in page
    assert "11.900" not in page
    assert paid.status_code == 302
    payment = Intent.objects.get(payment_link_id=created["id"]).payment
    assert (payment.status, payment.amount) == ("succeeded", 5950)
    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert (shown["status"], shown["amount_due"]) == ("paid", D("0"))


def _policy(response):
    return {
        directive.split()[0]: directive.split()[1:]
        for directive in response["Content-Security-Policy"].split("; ")
    }


def test_every_hosted_page_carries_a_strict_content_security_policy(browser, link, tenant):
    form = browser.get(_url(link))
    declined = _pay(browser, _url(link), sandbox.DECLINED)
    authenticate = browser.get(_pay(browser, _url(link), sandbox.REQUIRES_AUTHENTICATION).url)
    expired = PaymentLinkFactory(
        workspace=tenant.workspace,
        expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1),
    )
    unavailable = browser.get(_url(expired))

    for page in (form, declined, authenticate, unavailable):
        policy = _policy(page)
        assert policy["default-src"] == ["'none'"]
        assert "script-src" not in policy  # no script at all, inline or not
        assert policy["form-action"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["style-src"] == ["'self'"]
        assert page["X-Frame-Options"] == "DENY"
        assert b"<script" not in page.content and b"<style" not in page.content


def test_the_merchants_logo_set_over_the_api_shows_and_its_origin_is_allowed(browser, link, tenant):
    logo = "https://cdn.example.com:8443/brand/logo.png?v=2"
    patched = tenant.client.patch(
        f"/workspaces/{tenant.workspace.id}/", {"logo_url": logo}, format="json"
    )

    page = browser.get(_url(link))

    assert patched.status_code == 200, patched.json()
    assert f'src="{logo}"'.replace("&", "&amp;").encode() in page.content
    assert _policy(page)["img-src"] == ["'self'", "https://cdn.example.com:8443"]
    assert _policy(page)["default-src"] == ["'none'"]


def test_without_a_logo_images_come_only_from_this_server(browser, link):
    page = browser.get(_url(link))

    assert _policy(page)["img-src"] == ["'self'"]
    assert b'class="logo"' not in page.content


@pytest.mark.parametrize("logo", ["ftp://files.example.com/logo.png", "javascript:alert(1)"])
def test_a_logo_that_is_not_a_web_address_is_refused(tenant, logo):
    response = tenant.client.patch(
        f"/workspaces/{tenant.workspace.id}/", {"logo_url": logo}, format="json"
    )

    assert response.status_code == 400
    assert "logo_url" in response.json()


def _payer():
    return Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})


def test_payers_of_a_reusable_link_each_keep_their_own_authentication_step(tenant):
    link = PaymentLinkFactory(workspace=tenant.workspace, reusable=True)
    first, second = _payer(), _payer()
    first_step = _pay(first, _url(link), sandbox.REQUIRES_AUTHENTICATION)["Location"]

    second_step = _pay(second, _url(link), sandbox.REQUIRES_AUTHENTICATION)["Location"]

    assert first_step != second_step
    # The first payer's attempt is still waiting for its answer, and goes through.
    page = first.get(first_step)
    assert "confirm this payment" in page.content.decode()
    first.post(
        first_step, {"decision": "approve", "csrfmiddlewaretoken": page.cookies["csrftoken"].value}
    )
    assert "confirm this payment" in second.get(second_step).content.decode()
    statuses = sorted(Intent.objects.filter(payment_link=link).values_list("status", flat=True))
    assert statuses == ["finalized", "requires_payment_method"]
    assert sorted(Payment.objects.values_list("status", flat=True)) == ["processing", "succeeded"]


def test_the_same_form_submitted_twice_on_a_reusable_link_charges_once(browser, tenant):
    link = PaymentLinkFactory(workspace=tenant.workspace, reusable=True)
    posted = {"card_number": sandbox.SUCCEEDS, "expiry": "12/34", "cvc": "123"}
    posted |= _form(browser, _url(link))

    first = browser.post(_url(link), posted)
    second = browser.post(_url(link), posted)

    assert first.status_code == second.status_code == 302
    # The second submit is recognised: it lands on the first one's result.
    assert second["Location"] == first["Location"]
    assert Payment.objects.count() == 1
    assert Intent.objects.filter(payment_link=link).count() == 1
    # A new form is a new payment.
    assert _pay(browser, _url(link), sandbox.SUCCEEDS).status_code == 302
    assert Payment.objects.filter(status="succeeded").count() == 2


def test_a_form_without_its_token_is_a_400_that_charges_nothing(browser, tenant):
    link = PaymentLinkFactory(workspace=tenant.workspace, reusable=True)
    posted = {"card_number": sandbox.SUCCEEDS, "expiry": "12/34", "cvc": "123"}
    form = _form(browser, _url(link))

    for attempt in (None, "forged", form["attempt"] + "x"):
        fields = {k: v for k, v in form.items() if k != "attempt"}
        if attempt is not None:
            fields["attempt"] = attempt
        response = browser.post(_url(link), posted | fields)

        assert response.status_code == 400
        assert "Enter your card again" in response.content.decode()
        assert 'name="attempt"' in response.content.decode()  # a fresh form
    assert not Payment.objects.exists()


def test_an_intents_form_submitted_twice_leaves_its_authentication_step_waiting(browser, tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    url = f"/publishable/intents/{intent['client_secret']}/hosted/"
    posted = {"card_number": sandbox.REQUIRES_AUTHENTICATION, "expiry": "12/34", "cvc": "123"}
    posted |= _form(browser, url)

    browser.post(url, posted)
    again = browser.post(url, posted)

    # The second submit is no answer to the bank's question: the step still waits.
    assert again.status_code == 302
    assert "confirm this payment" in browser.get(url).content.decode()
    assert Payment.objects.get().status == "processing"


def test_a_card_declined_while_paying_and_saving_is_not_kept(browser, link):
    link.save_card_and_make_default = True
    link.save(update_fields=["save_card_and_make_default"])

    declined = _pay(browser, _url(link), sandbox.DECLINED)

    assert declined.status_code == 402
    source = Source.objects.get()
    assert (source.status, source.default) == ("failed", False)


@pytest.fixture
def small_budgets(settings):
    from django.core.cache import cache

    settings.PUBLISHABLE_KEY_RATE = "3/hour"
    settings.PUBLISHABLE_ADDRESS_RATE = "5/hour"
    cache.clear()
    yield
    cache.clear()


def _payer_at(address):
    return Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"}, REMOTE_ADDR=address)


def test_card_attempts_on_a_link_are_limited_per_link(tenant, small_budgets):
    link = PaymentLinkFactory(workspace=tenant.workspace, reusable=True)
    other = PaymentLinkFactory(workspace=tenant.workspace, reusable=True)

    answers = [_pay(_payer_at(f"203.0.113.{n}"), _url(link), sandbox.DECLINED) for n in range(5)]

    assert [a.status_code for a in answers] == [402, 402, 402, 429, 429]
    refused = answers[-1]
    assert "Too many payment attempts" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert Payment.objects.count() == 3  # the refused attempts reached no gateway
    assert _pay(_payer_at("203.0.113.99"), _url(other), sandbox.DECLINED).status_code == 402
    assert browser_get_ok(_url(link))  # the page itself still opens


def browser_get_ok(url):
    return _payer_at("203.0.113.1").get(url).status_code == 200


def test_card_attempts_are_limited_per_address_across_links(tenant, small_budgets):
    links = [PaymentLinkFactory(workspace=tenant.workspace, reusable=True) for _ in range(7)]
    payer = _payer_at("198.51.100.4")

    statuses = [_pay(payer, _url(link), sandbox.DECLINED).status_code for link in links]

    assert statuses == [402] * 5 + [429] * 2


def test_card_setup_attempts_are_limited_too(tenant, small_budgets):
    customer = CustomerFactory(workspace=tenant.workspace)
    url = tenant.client.post(
        f"/customers/{customer.id}/setup_intent/",
        {"success_url": "https://shop.example.com/ok"},
        format="json",
    ).json()["url"]
    payer = _payer_at("192.0.2.7")
    card = {"card_number": sandbox.DECLINED, "expiry": "12/34", "cvc": "123"}

    statuses = [payer.post(url, card | hidden_fields(payer.get(url))).status_code for _ in range(4)]

    assert statuses == [402, 402, 402, 429]
