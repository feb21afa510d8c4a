"""What the hosted checkout shows a payer: their language (es or en), the amount in the
currency's own format, the invoice it pays, a ribbon when no real card is charged, and
the cardholder's name kept after a decline."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone, translation

from billing.models import Workspace
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import FinalizedInvoiceFactory
from payments import services
from payments.gateways import sandbox
from payments.hosted import page_language
from payments.tests.factories import PaymentLinkFactory
from payments.tests.hosted_forms import hidden_fields
from tests.conftest import make_tenant

CATALOG = Path(__file__).resolve().parent.parent / "locale" / "es" / "LC_MESSAGES" / "django.po"


def _url(link) -> str:  # type: ignore[no-untyped-def]
    return f"/publishable/payment_links/links/{link.publishable_key}/hosted/"


@pytest.fixture
def invoice_link(db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(country="CL")
    invoice = FinalizedInvoiceFactory(
        workspace=tenant.workspace, number=178, due_date=datetime.date(2026, 2, 14)
    )
    return PaymentLinkFactory(
        workspace=tenant.workspace,
        invoice=invoice,
        customer=invoice.customer,
        amount=invoice.total_adjusted,
        description="",
    )


@pytest.mark.parametrize(
    ("accept_language", "country", "language"),
    [
        ("", "CL", "es"),
        ("", "US", "en"),
        ("en-US,en;q=0.9", "CL", "en"),
        ("es-CL,es;q=0.9,en;q=0.8", "US", "es"),
        ("fr-FR,fr;q=0.9", "CL", "es"),  # none we speak: the workspace's country decides
        ("fr;q=1,en;q=0.5,es;q=0.7", "US", "es"),
        ("en;q=bogus,es", "US", "es"),
    ],
)
def test_the_page_language_is_the_payer_s_else_the_workspace_s(
    accept_language: str, country: str, language: str
) -> None:
    assert page_language(accept_language, Workspace(country_id=country)) == language


def test_a_chilean_workspace_s_checkout_is_in_spanish_with_pesos_and_the_invoice(
    invoice_link,  # type: ignore[no-untyped-def]
) -> None:
    page = Client().get(_url(invoice_link))

    assert page.status_code == 200
    assert page["Content-Language"] == "es"
    html = page.content.decode()
    assert '<html lang="es">' in html
    assert "Número de tarjeta" in html and "Card number" not in html
    assert "Pagar $1.190" in html
    document = re.search(r'data-testid="document">(.*?)</dl>', html, re.S)
    assert document is not None
    assert "Factura electrónica N° 178" in document.group(1)
    assert "Vence el 14/02/2026" in document.group(1)


def test_an_english_speaking_payer_reads_it_in_english(invoice_link) -> None:  # type: ignore[no-untyped-def]
    page = Client(headers={"Accept-Language": "en-US,en;q=0.9"}).get(_url(invoice_link))

    html = page.content.decode()
    assert page["Content-Language"] == "en"
    assert "Card number" in html and "Pay $1.190" in html
    assert "Factura electrónica No. 178" in html
    assert "Due 02/14/2026" in html


def test_dollars_are_shown_as_us_dollars(db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(country="US")
    link = PaymentLinkFactory(
        workspace=tenant.workspace, amount=Decimal("1888.74"), currency_id="USD"
    )

    html = Client().get(_url(link)).content.decode()

    assert "Pay US$1,888.74" in html


@pytest.mark.parametrize(("test_mode", "ribbon"), [(True, "Test mode"), (False, "Sandbox")])
def test_a_ribbon_says_no_real_card_is_charged(db, test_mode: bool, ribbon: str) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(test_mode=test_mode)
    link = PaymentLinkFactory(workspace=tenant.workspace, test_mode=test_mode)

    html = Client(headers={"Accept-Language": "en"}).get(_url(link)).content.decode()

    found = re.search(r'data-testid="test-mode">(.*?)</div>', html, re.S)
    assert found is not None
    assert ribbon in found.group(1) and "no real card is charged" in found.group(1)


def test_a_declined_card_keeps_the_cardholder_s_name_but_never_the_card(invoice_link) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    form = hidden_fields(client.get(_url(invoice_link)))

    declined = client.post(
        _url(invoice_link),
        {
            "name": "Ana Rojas",
            "card_number": sandbox.DECLINED,
            "expiry": "12/34",
            "cvc": "123",
            **form,
        },
    )

    assert declined.status_code == 402
    html = declined.content.decode()
    assert "Tu tarjeta fue rechazada" in html
    assert 'value="Ana Rojas"' in html
    assert sandbox.DECLINED not in html and 'value="123"' not in html


def test_the_committed_spanish_catalog_is_compiled() -> None:
    """The .mo is committed (no gettext needed to run); it must say what the .po says."""
    entries = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', CATALOG.read_text(), re.M)
    assert len(entries) > 25
    with translation.override("es"):
        for msgid, msgstr in entries:
            assert translation.gettext(msgid) == msgstr, msgid


@pytest.mark.parametrize(
    ("card_number", "expiry", "field", "message"),
    [
        ("4111 1111 1111 1111", "12/34", "card_number", "solo acepta sus tarjetas de prueba"),
        ("4242 4242 4242 4241", "12/34", "card_number", "no es un número de tarjeta válido"),
        (sandbox.SUCCEEDS, "01/20", "expiry", "Esta tarjeta está vencida"),
    ],
)
def test_a_card_the_gateway_refuses_is_explained_in_the_payer_s_language_on_its_field(
    invoice_link,  # type: ignore[no-untyped-def]
    card_number: str,
    expiry: str,
    field: str,
    message: str,
) -> None:
    client = Client(enforce_csrf_checks=True)
    form = hidden_fields(client.get(_url(invoice_link)))

    refused = client.post(
        _url(invoice_link), {"card_number": card_number, "expiry": expiry, "cvc": "123", **form}
    )

    assert refused.status_code == 400
    html = refused.content.decode()
    error = re.search(rf'<p class="field-error" id="{field}_error">(.*?)</p>', html)
    assert error is not None and message in error.group(1), html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html, re.S)
    assert 'role="alert"' in html  # announced to a screen reader


def test_missing_card_details_are_announced(invoice_link) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    form = hidden_fields(client.get(_url(invoice_link)))

    refused = client.post(_url(invoice_link), form)

    assert refused.status_code == 400
    html = refused.content.decode()
    alert = re.search(r'role="alert"[^>]*>(.*?)</', html, re.S)
    assert alert is not None and "Revisa los campos marcados" in alert.group(1), html
    assert html.count('aria-invalid="true"') == 3


def test_the_page_waiting_for_the_gateway_s_event_speaks_the_payer_s_language(db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(country="CL")
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    url = f"/publishable/intents/{intent['client_secret']}/hosted/?checkout=returned"

    page = Client().get(url)

    assert page["Content-Language"] == "es"
    html = page.content.decode()
    assert "Estamos confirmando tu pago" in html and "<title>Confirmando tu pago" in html
    assert "confirming your payment" not in html.lower()


def test_the_save_card_page_speaks_the_payer_s_language(db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(country="US")
    customer = CustomerFactory(workspace=tenant.workspace)
    url = tenant.client.post(
        f"/customers/{customer.id}/setup_intent/",
        {"success_url": "https://shop.example.com/ok", "cancel_url": "https://shop.example.com"},
        format="json",
    ).json()["url"]

    page = Client(headers={"Accept-Language": "es"}).get(url)

    assert page["Content-Language"] == "es"
    html = page.content.decode()
    assert "<title>Guardar una tarjeta" in html
    assert "Guarda una tarjeta para tus pagos." in html
    assert "Nombre en la tarjeta" in html and "Vencimiento (MM/AA)" in html
    assert "Guardar tarjeta</button>" in html and ">Cancelar</a>" in html
    for english in ("Save a card", "Name on card", "Save card", ">Cancel<"):
        assert english not in html


def test_a_refused_payment_is_explained_in_the_payer_s_language(db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(country="CL")
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    now = timezone.now()
    intent = services.intent_create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        now=now - datetime.timedelta(hours=2),
        expires_at=now - datetime.timedelta(hours=1),
    )
    url = f"/publishable/intents/{intent.client_secret}/hosted/"
    client = Client(enforce_csrf_checks=True)
    card = {"card_number": sandbox.SUCCEEDS, "expiry": "12/34", "cvc": "123"}

    refused = client.post(url, card | hidden_fields(client.get(url)))

    assert refused.status_code == 409
    html = refused.content.decode()
    assert "Este pago expiró. Pide un nuevo link al vendedor." in html
    assert "has expired" not in html


def _save_card_url(tenant) -> str:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=tenant.workspace)
    return str(
        tenant.client.post(
            f"/customers/{customer.id}/setup_intent/",
            {"success_url": "https://shop.example.com/ok"},
            format="json",
        ).json()["url"]
    )


@pytest.mark.parametrize(
    ("card", "invalid"),
    [
        ({}, 3),
        ({"card_number": sandbox.SUCCEEDS, "expiry": "13/34", "cvc": "12"}, 2),
    ],
)
def test_the_save_card_page_says_what_to_fix_and_keeps_the_name(
    db,  # type: ignore[no-untyped-def]
    card: dict[str, str],
    invalid: int,
) -> None:
    """As the checkout does: a summary announced at the top, each field marked, and the
    cardholder's name still there (never the card)."""
    url = _save_card_url(make_tenant(country="CL"))
    client = Client(enforce_csrf_checks=True)
    form = hidden_fields(client.get(url))

    refused = client.post(url, {"name": "Ana Rojas", **card, **form})

    assert refused.status_code == 400
    html = refused.content.decode()
    alert = re.search(r'role="alert"[^>]*>(.*?)</', html, re.S)
    assert alert is not None and "Revisa los campos marcados abajo." in alert.group(1), html
    assert html.index('role="alert"') < html.index("<form")
    assert html.count('aria-invalid="true"') == invalid
    assert 'value="Ana Rojas"' in html
    assert sandbox.SUCCEEDS not in html and 'value="12"' not in html


def test_a_card_the_gateway_refuses_on_the_save_card_page_is_explained_on_its_field(
    db,  # type: ignore[no-untyped-def]
) -> None:
    url = _save_card_url(make_tenant(country="CL"))
    client = Client(enforce_csrf_checks=True)
    form = hidden_fields(client.get(url))
    card = {"card_number": "4242 4242 4242 4241", "expiry": "12/34", "cvc": "123"}

    refused = client.post(url, {"name": "Ana Rojas", **card, **form})

    assert refused.status_code == 400
    html = refused.content.decode()
    error = re.search(r'<p class="field-error" id="card_number_error">(.*?)</p>', html)
    assert error is not None and "no es un número de tarjeta válido" in error.group(1), html
    assert 'role="alert"' in html and 'value="Ana Rojas"' in html


def test_a_declined_card_on_the_save_card_page_keeps_the_name(db) -> None:  # type: ignore[no-untyped-def]
    url = _save_card_url(make_tenant(country="CL"))
    client = Client(enforce_csrf_checks=True)
    form = hidden_fields(client.get(url))
    card = {"card_number": sandbox.DECLINED, "expiry": "12/34", "cvc": "123"}

    declined = client.post(url, {"name": "Ana Rojas", **card, **form})

    assert declined.status_code == 402
    html = declined.content.decode()
    assert "Tu tarjeta fue rechazada" in html and 'value="Ana Rojas"' in html
    assert sandbox.DECLINED not in html and 'value="123"' not in html


def test_an_expired_save_card_page_speaks_the_payer_s_language(db) -> None:  # type: ignore[no-untyped-def]
    page = Client(headers={"Accept-Language": "es"}).get(
        "/publishable/card_setup/not-a-token/hosted/"
    )

    assert page.status_code == 410 and page["Content-Language"] == "es"
    html = page.content.decode()
    assert "Este enlace venció" in html and "Pide un enlace nuevo" in html
    assert "expired" not in html.lower()
