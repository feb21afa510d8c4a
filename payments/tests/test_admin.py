"""The back office for payments: every page renders, no card token, gateway secret or
client secret is ever in a page, money rows are read-only, and a gateway connection keeps
its tenant, its kind and (unless replaced) its secrets."""

import datetime
import re
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from invoices.tests.factories import FinalizedInvoiceFactory
from payments.models import (
    Intent,
    Payment,
    PaymentAllocation,
    PaymentGateway,
    PaymentLink,
    Refund,
    Source,
)
from payments.tests.factories import (
    IntentFactory,
    PaymentFactory,
    PaymentGatewayFactory,
    PaymentLinkFactory,
    SourceFactory,
)
from tests.conftest import make_tenant
from tests.fake_stripe import LIVE_KEY

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 1, 20, 12, tzinfo=datetime.UTC)
MODELS = [Payment, Source, PaymentLink, Intent, PaymentGateway]


@pytest.fixture
def rows(tenant):
    """One of each, linked: a succeeded card payment of an invoice, partly refunded; the
    link and the intent that paid it; and a Stripe connection."""
    scope = {"workspace": tenant.workspace}
    source = SourceFactory(**scope)
    invoice = FinalizedInvoiceFactory(**scope, customer=source.customer)
    payment = PaymentFactory(
        **scope,
        customer=source.customer,
        source=source,
        gateway="sandbox",
        gateway_reference="ch_sandbox_1",
        amount_refunded=Decimal(190),
        payment_date=NOW,
    )
    PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount=Decimal(1190), amount_refunded=Decimal(190)
    )
    Refund.objects.create(payment=payment, amount=Decimal(190), reason="Descuento", created_at=NOW)
    link = PaymentLinkFactory(**scope, invoice=invoice, amount=Decimal(1190), paid_at=NOW)
    intent = IntentFactory(
        **scope, invoice=invoice, payment_link=link, source=source, payment=payment,
        status="finalized", finalized_at=NOW,
    )  # fmt: skip
    gateway = PaymentGatewayFactory(**scope)
    return {Payment: payment, Source: source, PaymentLink: link, Intent: intent,
            PaymentGateway: gateway}  # fmt: skip


def url(model, view, *args):
    return reverse(f"admin:payments_{model._meta.model_name}_{view}", args=args)


def _secrets(rows) -> list[str]:
    gateway = rows[PaymentGateway]
    return [
        rows[Source].gateway_token,
        gateway.secret_key,
        gateway.webhook_secret,
        rows[Payment].client_secret,
        rows[Intent].client_secret,
    ]


def _pages(admin_client, rows) -> dict[str, str]:
    pages = {}
    for model in MODELS:
        for view, args in (("changelist", ()), ("change", (rows[model].pk,))):
            response = admin_client.get(url(model, view, *args))
            assert response.status_code == 200, (model.__name__, view)
            pages[f"{model.__name__} {view}"] = response.content.decode()
    added = admin_client.get(url(PaymentGateway, "add"))
    assert added.status_code == 200
    pages["PaymentGateway add"] = added.content.decode()
    return pages


def test_every_page_renders_and_shows_its_row(admin_client, rows):
    pages = _pages(admin_client, rows)

    for model in MODELS:
        assert rows[model].id in pages[f"{model.__name__} changelist"]
        assert rows[model].id in pages[f"{model.__name__} change"]
    assert "Descuento" in pages["Payment change"]  # the refund inline
    assert str(rows[Intent].invoice_id) in pages["Payment change"]  # the allocation inline
    assert "…" + rows[Source].gateway_token[-4:] in pages["Source change"]


def test_no_page_shows_a_token_or_secret_in_full(admin_client, rows):
    pages = _pages(admin_client, rows)
    secrets = _secrets(rows)
    assert all(len(secret) > 8 for secret in secrets)

    for name, html in pages.items():
        for secret in secrets:
            assert secret not in html, (name, secret)
    # And no half of one either: the masks show four characters at most.
    for secret in secrets:
        for html in pages.values():
            assert secret[: len(secret) // 2] not in html


def test_money_rows_have_no_add_delete_or_actions(admin_client, rows):
    for model in (Payment, Source, PaymentLink, Intent):
        changelist = admin_client.get(url(model, "changelist"))
        assert changelist.status_code == 200
        assert 'name="action"' not in changelist.content.decode()
        assert admin_client.get(url(model, "add")).status_code == 403
        assert (
            admin_client.post(url(model, "delete", rows[model].pk), {"post": "yes"}).status_code
            == 403
        )
        bulk = admin_client.post(
            url(model, "changelist"),
            {"action": "delete_selected", "_selected_action": [rows[model].pk], "post": "yes"},
        )
        assert bulk.status_code in (200, 302)
        assert model.objects.filter(pk=rows[model].pk).exists()


def _snapshot(instance):
    instance.refresh_from_db()
    return model_to_dict(instance), instance.updated_at


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Payment, {"amount": "1", "amount_refunded": "0", "status": "failed", "currency": "USD"}),
        (Source, {"gateway_token": "tok_attacker", "card_last4": "0000", "status": "failed"}),
        (PaymentLink, {"amount": "1", "paid_at": "", "reusable": "on"}),
        (Intent, {"amount": "1", "status": "requires_payment_method", "payment": ""}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_a_change_form_post_to_a_money_row_is_refused(admin_client, rows, model, data):
    before = _snapshot(rows[model])
    allocations = list(PaymentAllocation.objects.values_list("amount", "amount_refunded"))

    response = admin_client.post(url(model, "change", rows[model].pk), data)

    assert response.status_code == 403
    assert _snapshot(rows[model]) == before
    assert list(PaymentAllocation.objects.values_list("amount", "amount_refunded")) == allocations


def _gateway_form(admin_client, gateway, **changes):
    """What the browser posts back from the change form, with `changes` typed in."""
    html = admin_client.get(url(PaymentGateway, "change", gateway.pk)).content.decode()
    data = dict(re.findall(r'<input type="text" name="([^"]+)"[^>]*value="([^"]*)"', html))
    if 'name="enabled" checked' in html:
        data["enabled"] = "on"
    return html, {**data, "secret_key": "", "webhook_secret": "", **changes}


def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(
    admin_client, rows, fake_stripe
):
    gateway = rows[PaymentGateway]
    html, data = _gateway_form(admin_client, gateway, publishable_key="pk_live_new")
    for name in ("secret_key", "webhook_secret"):
        assert f'<input type="password" name="{name}"' in html

    kept = admin_client.post(url(PaymentGateway, "change", gateway.pk), data)
    gateway.refresh_from_db()
    assert kept.status_code == 302, kept.content.decode()[:3000]
    assert gateway.publishable_key == "pk_live_new"
    assert (gateway.secret_key, gateway.webhook_secret) == (
        "sk_test_factory_secret", "whsec_factory_secret"
    )  # fmt: skip

    refused = admin_client.post(
        url(PaymentGateway, "change", gateway.pk), {**data, "secret_key": "sk_live_unknown"}
    )
    replaced = admin_client.post(
        url(PaymentGateway, "change", gateway.pk), {**data, "secret_key": LIVE_KEY}
    )
    gateway.refresh_from_db()
    assert refused.status_code == 200
    assert "Stripe refused the secret key" in refused.content.decode()
    assert replaced.status_code == 302
    assert (gateway.secret_key, gateway.webhook_secret) == (LIVE_KEY, "whsec_factory_secret")
    assert (
        LIVE_KEY not in admin_client.get(url(PaymentGateway, "change", gateway.pk)).content.decode()
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"publishable_key": "pk_test_other"}, "starts with pk_live_"),
        ({"secret_key": "sk_test_other"}, "starts with sk_live_"),
    ],
)
def test_credentials_of_the_other_mode_are_refused_on_the_form_as_in_the_api(
    admin_client, rows, changes, message
):
    gateway = rows[PaymentGateway]
    _, data = _gateway_form(admin_client, gateway, **changes)

    response = admin_client.post(url(PaymentGateway, "change", gateway.pk), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    gateway.refresh_from_db()
    assert (gateway.publishable_key, gateway.secret_key) == (
        "pk_test_factory", "sk_test_factory_secret"
    )  # fmt: skip


def test_a_connection_keeps_its_workspace_mode_and_gateway(admin_client, rows):
    """Its secrets belong to its tenant: a form post cannot hand them to another one."""
    gateway = rows[PaymentGateway]
    other = make_tenant().workspace
    html, data = _gateway_form(admin_client, gateway)

    response = admin_client.post(
        url(PaymentGateway, "change", gateway.pk),
        {**data, "workspace": other.pk, "test_mode": "on", "gateway": "sandbox"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    for name in ("workspace", "test_mode", "gateway"):
        assert f'name="{name}"' not in html
    gateway.refresh_from_db()
    assert (gateway.workspace_id, gateway.test_mode, gateway.gateway) == (
        rows[Payment].workspace_id, False, "stripe"
    )  # fmt: skip
    assert gateway.secret_key == "sk_test_factory_secret"


def test_a_second_connection_to_the_same_gateway_is_a_form_error(admin_client, rows, fake_stripe):
    gateway = rows[PaymentGateway]
    fields = {"gateway": "stripe", "enabled": "on", "publishable_key": "pk_live_2",
              "secret_key": LIVE_KEY, "webhook_secret": ""}  # fmt: skip

    duplicate = admin_client.post(
        url(PaymentGateway, "add"), {**fields, "workspace": gateway.workspace_id}
    )
    other = make_tenant().workspace
    created = admin_client.post(url(PaymentGateway, "add"), {**fields, "workspace": other.pk})

    assert duplicate.status_code == 200
    assert "already exists" in duplicate.content.decode()
    assert LIVE_KEY not in duplicate.content.decode()  # not echoed back
    assert PaymentGateway.objects.filter(workspace=gateway.workspace).count() == 1
    assert created.status_code == 302
    assert PaymentGateway.objects.get(workspace=other).secret_key == LIVE_KEY


def test_deleting_connections_from_the_changelist(admin_client, rows):
    gateway = rows[PaymentGateway]

    confirm = admin_client.post(
        url(PaymentGateway, "changelist"),
        {"action": "delete_selected", "_selected_action": [gateway.pk]},
    )
    done = admin_client.post(
        url(PaymentGateway, "changelist"),
        {"action": "delete_selected", "_selected_action": [gateway.pk], "post": "yes"},
        follow=True,
    )

    assert confirm.status_code == 200
    assert gateway.secret_key not in confirm.content.decode()
    assert done.status_code == 200
    assert [str(m) for m in done.context["messages"]] == ["Successfully deleted 1 payment gateway."]
    assert not PaymentGateway.objects.filter(pk=gateway.pk).exists()
    assert Payment.objects.filter(pk=rows[Payment].pk).exists()


def test_a_payment_and_its_allocations_show_money_in_dollars(admin_client) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace, currency_id="USD")
    payment = PaymentFactory(
        workspace=tenant.workspace, customer=invoice.customer, currency_id="USD",
        amount=Decimal("1888.74"),
    )  # fmt: skip
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal("1888.74"))

    response = admin_client.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    html = response.content.decode()

    assert response.status_code == 200
    assert ".000000" not in html
    assert _readonly(html, "amount_shown") == ["US$1,888.74", "US$1,888.74"]
    assert "US$0.00" in _readonly(html, "amount_refunded_shown")


def _readonly(html: str, name: str) -> list[str]:
    """The read-only values of a field, in form rows (after the label) and inline cells."""
    cells = re.findall(rf'class="[^"]*field-{name}\b[^"]*">(.*?)</(?:div|td|p)>', html, re.S)
    return [re.sub(r"<[^>]+>", "", cell).split("\n")[-1].strip() for cell in cells]
