"""G10: no card number anywhere in the database or the logs after checkouts (hosted
pages, the API and the publishable routes), and secrets never in API output."""

import logging

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from invoices.tests.factories import FinalizedInvoiceFactory
from payments.gateways import sandbox
from payments.tests.factories import PaymentLinkFactory
from payments.tests.hosted_forms import hidden_fields

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


def _database_text() -> str:
    """Every text and JSON value of every table, as one string."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = ANY(%s)",
            [list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        chunks = []
        for table, column in columns:
            cursor.execute(f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL')
            chunks.extend(value for (value,) in cursor.fetchall())
    assert columns, "the dump read no columns"
    return "\n".join(chunks)


def _digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_card_number_is_stored_or_logged_after_checkouts(tenant, caplog):
    if connection.vendor != "postgresql":
        pytest.fail("the database dump reads PostgreSQL's catalog: run on PostgreSQL")
    caplog.set_level(logging.DEBUG)
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    browser = Client()
    cards = [sandbox.DECLINED, sandbox.REQUIRES_AUTHENTICATION, sandbox.SUCCEEDS]
    for number in cards:
        link = PaymentLinkFactory(workspace=tenant.workspace, amount=1190)
        url = f"/publishable/payment_links/links/{link.publishable_key}/hosted/"
        form = hidden_fields(browser.get(url))
        response = browser.post(
            url, {"card_number": number, "expiry": "12/34", "cvc": "123", **form}
        )
        if response.status_code == 302:  # the authentication step: approve it
            browser.post(response["Location"], {"decision": "approve"})
    # The API's source creation, with an idempotency key (its fingerprint is stored).
    tenant.client.post(
        "/sources/",
        {
            "customer": invoice.customer_id,
            "card": {"number": sandbox.INSUFFICIENT_FUNDS, "exp_month": 12, "exp_year": 2034},
        },
        HTTP_IDEMPOTENCY_KEY="g10-source",
    )
    # The publishable routes: a browser with no token authorizes (the 3155 card, then its
    # authentication step), is declined, and saves a card with a link's key.
    publishable = APIClient()
    for number in (sandbox.REQUIRES_AUTHENTICATION, sandbox.DECLINED):
        payment = tenant.client.post(
            "/payments/",
            {"customer": invoice.customer_id, "amount": "500", "status": "requires_payment_method"},
        ).json()
        secret = {"client_secret": payment["client_secret"]}
        authorized = publishable.post(
            f"/publishable/payments/{payment['id']}/authorize/",
            {**secret, "card": {"number": number, "exp_month": 12, "exp_year": 2034}},
        )
        assert authorized.status_code == 200, authorized.content
        if authorized.json()["requires_authentication"]:
            answered = publishable.post(
                f"/publishable/payments/{payment['id']}/authenticate/",
                {**secret, "approved": True},
            )
            assert answered.json()["status"] == "succeeded"
    saved = publishable.post(
        "/publishable/sources/",
        {
            "key": PaymentLinkFactory(workspace=tenant.workspace).publishable_key,
            "card": {"number": sandbox.INSUFFICIENT_FUNDS, "exp_month": 12, "exp_year": 2034},
        },
    )
    assert saved.status_code == 201, saved.content
    assert sandbox.INSUFFICIENT_FUNDS not in saved.content.decode()

    dump = _database_text()

    assert "4242" in dump  # the last four digits are stored: the dump does read sources
    for number in [*cards, sandbox.INSUFFICIENT_FUNDS]:
        assert number not in dump
        assert number not in _digits_only(dump)
        assert number not in caplog.text


def test_no_serializer_shows_a_gateway_secret(tenant):
    from payments.api.serializers import PaymentGatewaySerializer
    from payments.tests.factories import PaymentGatewayFactory

    gateway = PaymentGatewayFactory(workspace=tenant.workspace)

    shown = str(PaymentGatewaySerializer(gateway).data)
    listed = tenant.client.get(f"/payment_gateways/{gateway.id}/").content.decode()

    for secret in (gateway.secret_key, gateway.webhook_secret):
        assert secret not in shown
        assert secret not in listed


def test_the_admin_masks_gateway_secrets_and_card_tokens(tenant, admin_client):
    from payments.tests.factories import PaymentGatewayFactory, SourceFactory

    gateway = PaymentGatewayFactory(workspace=tenant.workspace)
    source = SourceFactory(workspace=tenant.workspace)

    pages = [
        admin_client.get(f"/admin/payments/paymentgateway/{gateway.pk}/change/"),
        admin_client.get("/admin/payments/paymentgateway/"),
        admin_client.get(f"/admin/payments/source/{source.pk}/change/"),
        admin_client.get("/admin/payments/source/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert gateway.secret_key not in html
        assert gateway.webhook_secret not in html
        assert source.gateway_token not in html
