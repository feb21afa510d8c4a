"""POST /invoices/{id}/send/: the PDF, by email, to whoever receives the customer's invoices."""

import smtplib
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from billing.models import Event
from customers.tests.factories import ContactFactory
from invoices.mail import invoice_send
from invoices.models import Invoice
from invoices.services.invoices import invoice_finalize
from invoices.tests.pdf_helpers import NOW, make_customer, make_draft, make_issuer
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        raise smtplib.SMTPRecipientsRefused({})


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def customer(tenant):
    make_issuer(tenant.workspace)
    return make_customer(tenant.workspace)


@pytest.fixture
def invoice(tenant, customer):
    return invoice_finalize(invoice=make_draft(tenant.workspace, customer), now=NOW)


def contact(customer, email, invoicing=True):
    return ContactFactory(
        workspace=customer.workspace, customer=customer, email=email, invoicing=invoicing
    )


def test_the_pdf_goes_to_the_invoicing_contacts(tenant, customer, invoice):
    contact(customer, "ana@losaromos.cl")
    contact(customer, "ANA@losaromos.cl")  # the same mailbox once
    contact(customer, "luis@losaromos.cl")
    contact(customer, "ventas@losaromos.cl", invoicing=False)

    response = tenant.client.post(f"/invoices/{invoice.id}/send/")

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == invoice.id
    assert response.json()["local_file"].startswith(f"{settings.PUBLIC_URL}/files/")
    [message] = mail.outbox
    assert message.to == ["ana@losaromos.cl", "luis@losaromos.cl"]
    assert message.subject == "Factura electrónica N° 1 de Servicios Digitales Andes SpA"
    assert "por un total de $ 43.742" in message.body
    assert "Vence el 30-04-2026" in message.body
    assert message.reply_to == ["facturacion@andes.cl"]
    assert "Servicios Digitales Andes SpA" in message.from_email
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == ("factura-electronica-1.pdf", "application/pdf")
    invoice.refresh_from_db()
    assert content == Path(invoice.pdf.path).read_bytes()  # the stored PDF, not a new one
    assert content.startswith(b"%PDF-")


def test_without_invoicing_contacts_the_customer_email_receives_it(tenant, customer, invoice):
    contact(customer, "ventas@losaromos.cl", invoicing=False)
    contact(customer, "", invoicing=True)  # no address: not a recipient

    response = tenant.client.post(f"/invoices/{invoice.id}/send/")

    assert response.status_code == 200
    assert mail.outbox[0].to == ["pagos@losaromos.cl"]


def test_a_paid_invoice_can_be_sent_again(customer, invoice):
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")
    invoice.refresh_from_db()

    invoice_send(invoice=invoice, now=NOW)

    [message] = mail.outbox
    assert parsedate_to_datetime(message.message()["Date"]) == NOW  # the caller's clock


@pytest.mark.parametrize("status", ["draft", "pending", "uncollectible", "cancelled"])
def test_only_finalized_or_paid_invoices_are_sent(tenant, customer, status):
    invoice = make_draft(tenant.workspace, customer)
    Invoice.objects.filter(pk=invoice.pk).update(status=status)

    response = tenant.client.post(f"/invoices/{invoice.id}/send/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_finalized"
    assert mail.outbox == []


def test_nobody_to_send_to_is_409(tenant, customer, invoice):
    customer.email = ""
    customer.save()
    contact(customer, "ventas@losaromos.cl", invoicing=False)

    response = tenant.client.post(f"/invoices/{invoice.id}/send/")

    assert response.status_code == 409
    assert response.json()["code"] == "no_recipients"
    assert mail.outbox == []


def test_a_refusing_mail_server_is_502(settings, tenant, invoice):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"

    response = tenant.client.post(f"/invoices/{invoice.id}/send/")

    assert response.status_code == 502
    assert response.json()["code"] == "email_not_sent"
    invoice.refresh_from_db()
    assert invoice.sent_at is None  # nothing was sent, so nothing is recorded
    assert not Event.objects.filter(object_id=invoice.id, type="invoice.sent").exists()


def test_sending_records_when_and_an_event(tenant, customer, invoice):
    assert tenant.client.get(f"/invoices/{invoice.id}/").json()["sent_at"] is None

    response = tenant.client.post(f"/invoices/{invoice.id}/send/")

    assert response.status_code == 200, response.json()
    sent_at = response.json()["sent_at"]
    assert sent_at is not None
    assert tenant.client.get(f"/invoices/{invoice.id}/").json()["sent_at"] == sent_at
    [event] = Event.objects.filter(object_id=invoice.id, type="invoice.sent")
    assert event.data["sent_at"] == sent_at
    # A second sending is recorded too, at the caller's time.
    later = invoice_send(invoice=invoice, now=NOW)
    assert later.sent_at == NOW
    assert Event.objects.filter(object_id=invoice.id, type="invoice.sent").count() == 2


def test_webhooks_can_subscribe_to_invoice_sent(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    test_tenant = make_tenant(test_mode=True)  # test mode: a plain-http URL is allowed

    response = test_tenant.client.post(
        "/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["invoice.sent"]},
        format="json",
    )

    assert response.status_code == 201, response.json()
