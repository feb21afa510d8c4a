"""Document PDFs: rendered once after finalize and stored, previewed for drafts, served by
signed expiring links; money as the customer reads it."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import DocumentType
from billing.queueing import message_reprs
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, DebitNote, Invoice
from invoices.pdf import storage
from invoices.pdf.context import format_money
from invoices.pdf.render import document_html, document_pdf_render
from invoices.pdf.storage import document_pdf_store
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.tasks import render_document_pdf, render_missing_pdfs
from invoices.tests.pdf_helpers import (
    NOW,
    make_customer,
    make_draft,
    make_finalized_note,
    make_issuer,
    pdf_text,
    save_page_png,
)
from organization.tests.factories import BankAccountFactory, OrgUnitFactory
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def draft(tenant):
    make_issuer(tenant.workspace)
    return make_draft(tenant.workspace)


@pytest.fixture
def queued(monkeypatch):
    """The renders finalize queues, instead of a broker."""
    calls: list[dict] = []

    def sent(args=None, kwargs=None, **options):
        calls.append(kwargs)
        headers.append(options)

    headers: list[dict] = []
    monkeypatch.setattr(render_document_pdf, "apply_async", sent)
    monkeypatch.setattr(render_document_pdf, "sent_headers", headers, raising=False)
    return calls


@pytest.fixture
def rendered(draft, queued, django_capture_on_commit_callbacks, settings):
    """Finalized; the render queued on commit has run (the task, in this process)."""
    settings.EVENT_PUBLISHERS = []  # the finalize's event is not this test's business
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_finalize(invoice=draft, now=NOW)
    assert queued == [{"model_label": "invoices.Invoice", "document_id": invoice.id}]
    assert render_document_pdf(**queued[0]) is True
    invoice.refresh_from_db()
    return invoice


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal(43742), "CLP", "$ 43.742"),
        (Decimal(0), "CLP", "$ 0"),
        (Decimal("1234567.5"), "CLP", "$ 1.234.568"),  # half-up, no decimals
        (Decimal(-1975), "CLP", "-$ 1.975"),
        (Decimal("1234.5"), "USD", "US$ 1,234.50"),
        (Decimal("0.125"), "USD", "US$ 0.13"),
        (Decimal("1234567.891"), "USD", "US$ 1,234,567.89"),
        (Decimal("37512.3456"), "CLF", "UF 37.512,3456"),
        (Decimal(1000), "EUR", "€ 1.000,00"),
        (Decimal(1000), "MXN", "MXN 1,000.00"),
    ],
)
def test_money_is_formatted_per_currency(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_unit_prices_keep_their_extra_decimals():
    assert format_money(Decimal("0.5"), "CLP", exact=True) == "$ 0,5"
    assert format_money(Decimal("12.000000"), "USD", exact=True) == "US$ 12.00"
    assert format_money(Decimal("0.123456"), "USD", exact=True) == "US$ 0.123456"


def test_finalize_renders_a_pdf_with_what_the_customer_reads(rendered):
    path = Path(rendered.pdf.path)
    text = pdf_text(path)
    png = save_page_png(path, "invoice-33-1")

    assert path.read_bytes().startswith(b"%PDF-")
    for expected in [
        "Servicios Digitales Andes SpA",
        "RUT: 76.086.428-5",
        "Giro: Desarrollo de software",
        "Acteco: 620200",
        "Av. Providencia 1234, of. 501, Providencia, Santiago",
        "S.I.I. - PROVIDENCIA",
        "RES. N° 80 DE 2014",
        "Comercial Los Aromos Ltda.",
        "77.123.456-9",
        "Los Carrera 455, Valparaíso, Valparaíso, Chile",
        "Forma de pago Crédito",
        "pagos@losaromos.cl",
        "FACTURA ELECTRÓNICA",
        "N° 1",
        "Tipo 33",
        "31-03-2026",
        "30-04-2026",
        "Plan Pro",
        "Suscripción mensual, marzo 2026",
        "3 usuarios",
        "$ 10.000",
        "$ 30.000",
        "Setup",
        "10%",
        "$ 4.491",
        "Seguro",
        "$ 5.000",
        "Descuento global (5%)",
        "-$ 1.975",
        "Neto",
        "$ 32.766",
        "Exento",
        "$ 4.750",
        "IVA 19%",
        "$ 6.226",
        "Total",
        "$ 43.742",
        "801 Orden de compra",
        "OC-118",
        "01-03-2026",
        "Transferir a Banco de Chile",
    ]:
        assert expected in text, expected
    assert "Borrador" not in text
    assert "Total a pagar" not in text  # no retention
    assert png.read_bytes().startswith(b"\x89PNG")


def test_the_pdf_is_rendered_once_and_never_changes(rendered, tenant):
    path = Path(rendered.pdf.path)
    content, modified = path.read_bytes(), path.stat().st_mtime_ns
    tenant.workspace.name = "Renamed Later SpA"
    tenant.workspace.save()

    again = render_document_pdf(model_label="invoices.Invoice", document_id=rendered.id)
    served = tenant.client.get(f"/invoices/{rendered.id}/pdf/")

    assert again is False
    rendered.refresh_from_db()
    assert Path(rendered.pdf.path) == path
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (content, modified)
    assert b"".join(served.streaming_content if served.streaming else [served.content]) == content
    assert list(path.parent.iterdir()) == [path]


def test_a_concurrent_render_that_loses_removes_its_file(draft, queued, monkeypatch):
    invoice = invoice_finalize(invoice=draft, now=NOW)
    render = storage.document_pdf_render

    def render_while_another_worker_stores(document):
        content = render(document)
        Invoice.objects.filter(pk=document.pk).update(pdf="documents/winner.pdf")
        return content

    monkeypatch.setattr(storage, "document_pdf_render", render_while_another_worker_stores)

    stored = document_pdf_store(model_label="invoices.Invoice", document_id=invoice.id)

    assert stored is False
    invoice.refresh_from_db()
    assert invoice.pdf.name == "documents/winner.pdf"
    media = Path(settings.MEDIA_ROOT)
    assert not [p for p in media.rglob("*.pdf")]  # the loser's file is gone


def test_a_draft_is_previewed_and_never_stored(draft, tenant):
    response = tenant.client.get(f"/invoices/{draft.id}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    preview = Path(settings.MEDIA_ROOT).parent / "preview.pdf"
    preview.write_bytes(response.content)
    text = pdf_text(preview)
    assert "Borrador" in text
    # No folio (the SII resolution's "RES. N° 80" is not one).
    assert not re.search(r"(?<!RES\. )N° \d", text)
    assert "$ 43.742" in text
    draft.refresh_from_db()
    assert not draft.pdf
    assert tenant.client.get(f"/invoices/{draft.id}/").json()["local_file"] is None


def test_the_pdf_route_serves_the_stored_file_as_application_pdf(rendered, tenant):
    response = tenant.client.get(f"/invoices/{rendered.id}/pdf/", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="factura-electronica-1.pdf"' in response["Content-Disposition"]
    assert response.content == Path(rendered.pdf.path).read_bytes()


def test_a_finalized_invoice_whose_render_was_lost_is_rendered_on_first_read(draft, tenant, queued):
    invoice = invoice_finalize(invoice=draft, now=NOW)  # the queued render never runs

    assert tenant.client.get(f"/invoices/{invoice.id}/").json()["local_file"] is None
    response = tenant.client.get(f"/invoices/{invoice.id}/pdf/")

    invoice.refresh_from_db()
    assert response.status_code == 200
    assert invoice.pdf and response.content == Path(invoice.pdf.path).read_bytes()
    assert storage.documents_pdf_missing(now=NOW, older_than=timedelta(0)) == []


def test_lost_renders_are_found_by_the_sweep(draft, queued):
    invoice = invoice_finalize(invoice=draft, now=NOW)

    assert storage.documents_pdf_missing(now=NOW, older_than=timedelta(minutes=5)) == []
    later = NOW + timedelta(minutes=6)
    assert storage.documents_pdf_missing(now=later, older_than=timedelta(minutes=5)) == [
        ("invoices.Invoice", invoice.id)
    ]


def test_a_finalize_sends_its_render_with_the_headers_celery_would_write(
    draft, queued, django_capture_on_commit_callbacks, settings
):
    settings.EVENT_PUBLISHERS = []
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_finalize(invoice=draft, now=NOW)

    kwargs = {"model_label": "invoices.Invoice", "document_id": invoice.id}
    assert queued == [kwargs]
    # As Celery writes them itself (billing/tests/test_queueing.py).
    (sent,) = render_document_pdf.sent_headers
    assert {name: sent[name] for name in message_reprs(kwargs)} == message_reprs(kwargs) != {}


def test_the_sweep_queues_a_lost_render_once_while_its_message_is_in_flight(draft, queued):
    invoice = invoice_finalize(invoice=draft, now=NOW)  # its render was lost
    lost = {"model_label": "invoices.Invoice", "document_id": invoice.id}

    assert render_missing_pdfs() == 1
    assert render_missing_pdfs() == 0  # beat fires again before the render is taken up

    assert queued == [lost]


def test_a_render_message_lost_too_is_queued_again_after_the_lease(draft, settings):
    settings.SWEEP_ENQUEUE_LEASE_SECONDS = 600
    invoice = invoice_finalize(invoice=draft, now=NOW)
    now, grace = timezone.now(), timedelta(minutes=5)

    first = storage.documents_pdf_claim_missing(now=now, older_than=grace)
    again = storage.documents_pdf_claim_missing(now=now + timedelta(seconds=599), older_than=grace)
    lost = storage.documents_pdf_claim_missing(now=now + timedelta(seconds=601), older_than=grace)

    assert (first, again, lost) == ([("invoices.Invoice", invoice.id)], [], first)


def test_local_file_is_a_signed_link_that_needs_no_token(rendered, tenant):
    local_file = tenant.client.get(f"/invoices/{rendered.id}/").json()["local_file"]

    assert local_file.startswith(f"{settings.PUBLIC_URL}/files/")
    response = APIClient().get(local_file)  # no credentials, as from an email
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == Path(rendered.pdf.path).read_bytes()


def test_a_tampered_link_is_404(rendered, tenant):
    local_file = tenant.client.get(f"/invoices/{rendered.id}/").json()["local_file"]
    token = local_file.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_document = storage.signing.TimestampSigner(salt="elsewhere").sign_object(
        ["invoices.Invoice", rendered.id]
    )

    assert APIClient().get(f"/files/{forged}/").status_code == 404
    assert APIClient().get(f"/files/{other_document}/").status_code == 404
    assert APIClient().get("/files/not-a-token/").status_code == 404


def test_a_link_expires_after_the_configured_age(rendered, tenant):
    local_file = tenant.client.get(f"/invoices/{rendered.id}/").json()["local_file"]
    max_age = settings.DOCUMENT_LINK_MAX_AGE_SECONDS
    now = datetime.now(UTC)

    with time_machine.travel(now + timedelta(seconds=max_age - 30), tick=False):
        assert APIClient().get(local_file).status_code == 200
    with time_machine.travel(now + timedelta(seconds=max_age + 30), tick=False):
        assert APIClient().get(local_file).status_code == 404


def test_a_link_to_a_document_of_another_kind_resolves_to_that_document(rendered):
    token = storage.document_file_token(rendered)
    assert storage.document_from_token(token) == rendered
    bad_model = storage.signing.TimestampSigner(salt="invoices.document-file").sign_object(
        ["auth.User", "1"]
    )
    assert storage.document_from_token(bad_model) is None


@pytest.mark.parametrize(
    ("model", "name", "line"),
    [
        (CreditNote, "NOTA DE CRÉDITO ELECTRÓNICA", "Ajuste de precio"),
        (DebitNote, "NOTA DE DÉBITO ELECTRÓNICA", "Flete"),
    ],
)
def test_notes_name_the_invoice_they_correct(rendered, model, name, line):
    note = make_finalized_note(model, rendered)

    assert render_document_pdf(model_label=model._meta.label, document_id=note.id) is True
    note.refresh_from_db()
    text = pdf_text(note.pdf.path)
    save_page_png(note.pdf.path, f"{model._meta.model_name}-1")

    for expected in [
        name,
        "N° 1",
        line,
        "$ 5.000",
        "IVA 19%",
        "$ 950",
        "$ 5.950",
        "33 Factura electrónica",
        "31-03-2026",
        "Corrige montos",
    ]:
        assert expected in text, expected
    assert "Vencimiento" not in text


def test_retention_tracking_id_and_dollars_are_shown(tenant):
    make_issuer(tenant.workspace)
    customer = make_customer(tenant.workspace, country_id="US", currency_id="USD")
    invoice = make_draft(tenant.workspace, customer, document=110)  # an export: in dollars
    invoice.lines.update(retention_percent=Decimal("14.5"))
    from invoices.services.invoices import invoice_update

    invoice = invoice_update(invoice=invoice)
    invoice.tax_agency_tracking_id = "SII-TRK-0042"

    html = document_html(invoice)

    assert '<meta charset="utf-8">' in html
    assert "US$ 10,000.00" in html and "US$ 4,491.00" in html
    assert f"US$ {invoice.total:,.2f}" in html
    assert "Retención" in html and "Total a pagar" in html
    assert f"-US$ {invoice.retention:,.2f}" in html
    assert f"US$ {invoice.total_adjusted:,.2f}" in html
    assert "Seguimiento tributario: SII-TRK-0042" in html


def test_a_broker_outage_does_not_undo_the_finalize(
    draft, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.EVENT_PUBLISHERS = []

    def broker_down(args=None, kwargs=None, **options):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(render_document_pdf, "apply_async", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_finalize(invoice=draft, now=NOW)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, bool(invoice.pdf)) == ("finalized", 1, False)


def test_links_come_from_public_url_whatever_the_host_header(rendered, tenant, settings):
    settings.ALLOWED_HOSTS = ["*"]  # even where an operator lets any host through
    settings.PUBLIC_URL = "https://billing.example.com"

    response = tenant.client.get(f"/invoices/{rendered.id}/", HTTP_HOST="evil.example")

    assert response.status_code == 200
    assert response.json()["local_file"].startswith("https://billing.example.com/files/")


def test_a_host_not_allowed_is_a_json_400(rendered, tenant):
    response = tenant.client.get(f"/invoices/{rendered.id}/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}


def test_a_missing_stored_file_is_rendered_again_not_a_500(rendered, tenant):
    # As when the worker that rendered it wrote to storage this process does not share.
    Path(rendered.pdf.path).unlink()
    local_file = tenant.client.get(f"/invoices/{rendered.id}/").json()["local_file"]

    by_route = tenant.client.get(f"/invoices/{rendered.id}/pdf/")
    by_link = APIClient().get(local_file)

    assert by_route.status_code == 200
    assert by_route["Content-Type"] == "application/pdf"
    assert by_route.content.startswith(b"%PDF")
    assert by_link.status_code == 200
    assert b"".join(by_link.streaming_content).startswith(b"%PDF")
    assert Path(rendered.pdf.path).exists()
    rendered.refresh_from_db()
    assert Path(rendered.pdf.path).name == f"{rendered.pk}.pdf"


def test_the_pdf_prints_the_branch_and_the_bank_accounts_for_transfers(tenant, tmp_path):
    make_issuer(tenant.workspace)
    unit = OrgUnitFactory(
        workspace=tenant.workspace, name="Sucursal Centro", address="Huérfanos 1160",
        sii_branch_code="81234567",
    )  # fmt: skip
    BankAccountFactory(
        workspace=tenant.workspace, bank_name="Banco Estado", account_type="sight",
        account_number="12345678", holder_name="Acme SpA",
    )  # fmt: skip
    BankAccountFactory(workspace=tenant.workspace, bank_name="BCI", on_documents=False)
    BankAccountFactory(workspace=tenant.workspace, bank_name="Chase", currency_id="USD")
    draft = make_draft(tenant.workspace)
    Invoice.objects.filter(pk=draft.pk).update(orgunit=unit)
    draft.refresh_from_db()

    path = tmp_path / "invoice.pdf"
    path.write_bytes(document_pdf_render(draft))
    text = pdf_text(path)

    assert "Sucursal: Sucursal Centro Huérfanos 1160 (81234567)" in text
    assert "DATOS PARA TRANSFERENCIA" in text  # headings are upper case
    assert "Banco Estado · Cuenta vista · 12345678 · Acme SpA" in text
    assert "BCI" not in text  # not printed on documents
    assert "Chase" not in text  # another currency


def test_the_branch_is_printed_with_the_comuna_its_dte_gives_as_origin(tenant, tmp_path):
    make_issuer(tenant.workspace)
    unit = OrgUnitFactory(
        workspace=tenant.workspace, name="Sucursal Oriente", address="Av. Providencia 1208",
        comuna_id="13123", city="Santiago", sii_branch_code="81234568",
    )  # fmt: skip
    draft = make_draft(tenant.workspace)
    Invoice.objects.filter(pk=draft.pk).update(orgunit=unit)
    draft.refresh_from_db()

    path = tmp_path / "invoice.pdf"
    path.write_bytes(document_pdf_render(draft))

    # The DTE's origin: DirOrigen, CmnaOrigen, CiudadOrigen.
    assert (
        "Sucursal: Sucursal Oriente Av. Providencia 1208, Providencia, Santiago (81234568)"
        in pdf_text(path)
    )


@pytest.mark.parametrize("model", [CreditNote, DebitNote])
def test_a_notes_pdf_prints_the_branch_of_its_invoice(tenant, tmp_path, model):
    make_issuer(tenant.workspace)
    unit = OrgUnitFactory(
        workspace=tenant.workspace, name="Sucursal Centro", address="Huérfanos 1160",
        sii_branch_code="81234567",
    )  # fmt: skip
    draft = make_draft(tenant.workspace)
    Invoice.objects.filter(pk=draft.pk).update(orgunit=unit)
    invoice = invoice_finalize(invoice=Invoice.objects.get(pk=draft.pk), now=NOW)
    note = make_finalized_note(model, invoice)

    path = tmp_path / "note.pdf"
    path.write_bytes(document_pdf_render(note))

    # A note is issued from its invoice's branch, as its DTE says (CdgSIISucur).
    assert "Sucursal: Sucursal Centro Huérfanos 1160 (81234567)" in pdf_text(path)


def test_the_pdf_shows_each_additional_tax_on_its_line_and_apart_in_the_totals(tenant, queued):
    make_issuer(tenant.workspace)
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=date(2026, 3, 31),
        lines=[
            {"name": "Whisky 12 años", "amount": Decimal(25990), "additional_tax": "24"},
            {"name": "Bebida azucarada", "amount": Decimal(1490), "additional_tax": "271"},
        ],
    )
    invoice = invoice_finalize(invoice=draft, now=NOW)

    text = " ".join(re.sub(r"<[^>]+>", " ", document_html(invoice)).split())

    # 31,5% of 25.990 = 8.186,85 → 8.187; 18% of 1.490 = 268,2 → 268; IVA 19% of 27.480.
    assert "Imp. adicional 24 31,5%" in text
    assert "Imp. adicional 24 31,5% $ 8.187" in text
    assert "Imp. adicional 271 18% $ 268" in text
    assert "IVA 19% $ 5.221" in text
    assert "Total $ 41.156" in text


def test_the_pdf_shows_the_tax_of_each_rate_apart():
    tenant = make_tenant(country="DE")
    customer = CustomerFactory(
        workspace=tenant.workspace, country_id="DE", currency_id="EUR", tax_id=""
    )
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=customer,
        document=DocumentType.objects.get(country_id="DE", code="INV"),
        date=date(2026, 3, 31),
        lines=[
            {"name": "Book", "amount": Decimal("100.05"), "tax_percent": Decimal(7)},
            {"name": "Consulting", "amount": Decimal("200.05")},
        ],
    )
    invoice = invoice_finalize(invoice=draft, now=NOW)

    text = " ".join(re.sub(r"<[^>]+>", " ", document_html(invoice)).split())

    # 7% of 100,05 = 7,0035 → 7,00; 19% of 200,05 = 38,0095 → 38,01: one row per rate,
    # adding up to the document's tax, never the whole tax under the document's rate.
    assert invoice.tax == Decimal("45.01")
    assert "Tax 7% € 7,00" in text
    assert "Tax 19% € 38,01" in text
    assert "Tax 19% € 45,01" not in text
