"""A finalized document shows its customer as the customer was when it was finalized
(guarantees G11): renaming, moving or re-identifying the customer afterwards changes none
of its DTE, its timbre, what is filed with the tax agency, its PDF or its representation.
A draft follows the customer."""

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.db import transaction

from billing.counterparts import document_counterpart
from billing.models import DocumentType
from billing.models.documents import counterpart_record
from invoices.models import CreditNote, DebitNote, Invoice
from invoices.pdf.render import document_pdf_render
from invoices.services.batch import InvoiceDraft, invoices_issue_batch
from invoices.services.filing import tax_document
from invoices.tests.dte_helpers import load_cafs, receiver_and_timbre, text, valid_dte
from invoices.tests.pdf_helpers import (
    NOW,
    downloaded,
    make_customer,
    make_draft,
    make_finalized_note,
    make_issuer,
    pdf_bytes_text,
)
from tests.numbers import D

pytestmark = pytest.mark.django_db

GIRO = {"cl_activity_description": "Comercio de frutas"}
# Everything of the customer a document prints, changed: name, RUT, address, comuna (and
# with it the region), email and giro.
CHANGES = {
    "name": "Aromos Renombrada SpA",
    "tax_id": "76543210-3",
    "address": "Av. Libertador 99",
    "state": "CL-RM",
    "comuna": "13101",  # Santiago
    "email": "nuevo@aromos.cl",
    "tax_settings": {"cl_activity_description": "Venta de vinos"},
}
SHOWN_BEFORE = [
    "Comercial Los Aromos Ltda.",
    "77.123.456-9",
    "Los Carrera 455, Valparaíso, Valparaíso, Chile",
    "pagos@losaromos.cl",
    "Comercio de frutas",
]
SHOWN_AFTER = [
    "Aromos Renombrada SpA",
    "76.543.210-3",
    "Av. Libertador 99, Santiago",
    "nuevo@aromos.cl",
    "Venta de vinos",
]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def cafs(tenant):
    make_issuer(tenant.workspace)
    return load_cafs(tenant.workspace)


@pytest.fixture
def customer(tenant):
    return make_customer(tenant.workspace, tax_settings=GIRO)


def change_customer(tenant, customer) -> None:
    response = tenant.client.patch(f"/customers/{customer.id}/", CHANGES, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == CHANGES["name"]


def finalize(tenant, draft) -> Invoice:
    response = tenant.client.post(f"/invoices/{draft.id}/finalize/")
    assert response.status_code == 200, response.json()
    return Invoice.objects.get(pk=draft.id)


def test_a_finalized_invoice_shows_its_customer_as_at_finalize(tenant, cafs, customer, tmp_path):
    invoice = finalize(tenant, make_draft(tenant.workspace, customer))
    path = f"/invoices/{invoice.id}/"
    xml_before = receiver_and_timbre(downloaded(tenant.client, f"{path}xml/"))
    filed_before = tax_document(Invoice.objects.get(pk=invoice.id))
    preview_before = pdf_bytes_text(document_pdf_render(invoice), tmp_path, "before")
    shown_before = tenant.client.get(path, {"expand": "customer"}).json()

    change_customer(tenant, customer)

    # The invoice's own representation is unchanged; `?expand=customer` is the customer
    # resource, which is the customer as it is now.
    shown_after = tenant.client.get(path, {"expand": "customer"}).json()
    assert shown_after["customer"]["name"] == CHANGES["name"]
    assert {**shown_after, "customer": None} == {**shown_before, "customer": None}
    xml_after = downloaded(tenant.client, f"{path}xml/")
    assert receiver_and_timbre(xml_after) == xml_before
    dte = valid_dte(xml_after)
    assert text(dte, "Documento/Encabezado/Receptor/RznSocRecep") == "Comercial Los Aromos Ltda."
    assert text(dte, "Documento/Encabezado/Receptor/RUTRecep") == "77123456-9"
    assert text(dte, "Documento/Encabezado/Receptor/CmnaRecep") == "Valparaíso"
    assert text(dte, "Documento/TED/DD/RSR") == "Comercial Los Aromos Ltda."
    # What beat files with the agency, the signed DTE in it included, is the same too.
    assert tax_document(Invoice.objects.get(pk=invoice.id)) == filed_before
    # The PDF is rendered, and stored, only now: after the customer changed.
    stored = pdf_bytes_text(downloaded(tenant.client, f"{path}pdf/"), tmp_path, "stored")
    assert stored == preview_before
    for shown in SHOWN_BEFORE:
        assert shown in stored, shown
    for changed in SHOWN_AFTER:
        assert changed not in stored, changed


def test_a_draft_shows_the_customer_as_it_is_now(tenant, customer, tmp_path):
    make_issuer(tenant.workspace)
    draft = make_draft(tenant.workspace, customer)

    change_customer(tenant, customer)

    preview = pdf_bytes_text(
        downloaded(tenant.client, f"/invoices/{draft.id}/pdf/"), tmp_path, "draft"
    )
    for shown in SHOWN_AFTER:
        assert shown in preview, shown
    assert "Comercial Los Aromos Ltda." not in preview
    draft = Invoice.objects.get(pk=draft.id)
    assert draft.counterpart_snapshot == {}
    assert document_counterpart(draft).name == CHANGES["name"]
    # Finalized now, it keeps the customer as it now is.
    invoice = finalize(tenant, draft)
    assert invoice.counterpart_snapshot["name"] == CHANGES["name"]
    assert invoice.counterpart_snapshot["comuna"] == "13101"


@pytest.mark.parametrize(
    ("model", "route"), [(CreditNote, "creditnotes"), (DebitNote, "debitnotes")]
)
def test_a_finalized_note_shows_the_customer_as_at_its_finalize(
    tenant, cafs, customer, tmp_path, model, route
):
    invoice = finalize(tenant, make_draft(tenant.workspace, customer))
    note = make_finalized_note(model, invoice)
    path = f"/{route}/{note.id}/"
    xml_before = receiver_and_timbre(downloaded(tenant.client, f"{path}xml/"))
    preview_before = pdf_bytes_text(document_pdf_render(note), tmp_path, "before")
    shown_before = tenant.client.get(path).json()

    change_customer(tenant, customer)

    assert tenant.client.get(path).json() == shown_before
    assert receiver_and_timbre(downloaded(tenant.client, f"{path}xml/")) == xml_before
    stored = pdf_bytes_text(downloaded(tenant.client, f"{path}pdf/"), tmp_path, "stored")
    assert stored == preview_before
    assert "Comercial Los Aromos Ltda." in stored
    assert CHANGES["name"] not in stored


def test_a_boleta_shows_the_customer_as_at_finalize(tenant, cafs, customer):
    boleta = finalize(tenant, make_draft(tenant.workspace, customer, document=39))
    xml_before = receiver_and_timbre(downloaded(tenant.client, f"/invoices/{boleta.id}/xml/"))

    change_customer(tenant, customer)

    assert (
        receiver_and_timbre(downloaded(tenant.client, f"/invoices/{boleta.id}/xml/")) == xml_before
    )


def test_a_cycle_finalizing_many_invoices_freezes_each_customer(tenant, customer):
    # A cycle's drafts name their customer by key only.
    draft = Invoice(
        customer_id=customer.id, document=DocumentType.objects.get(pk=33), currency_id="CLP",
        tax_percent=D(19), date=date(2026, 3, 31),
    )  # fmt: skip
    lines = [{"name": "Plan Pro", "amount": D(10000), "quantity": D(1)}]

    with transaction.atomic():
        [invoice] = invoices_issue_batch(
            workspace=tenant.workspace, test_mode=False, drafts=[InvoiceDraft(draft, lines)],
            finalize=True, now=NOW,
        )  # fmt: skip

    stored = Invoice.objects.get(pk=invoice.pk)
    assert stored.counterpart_snapshot == counterpart_record(customer)
    assert stored.counterpart_snapshot["activity"] == "Comercio de frutas"


def test_documents_finalized_before_snapshots_take_their_customer_as_it_stands(tenant, customer):
    make_issuer(tenant.workspace)
    invoice = finalize(tenant, make_draft(tenant.workspace, customer))
    note = make_finalized_note(CreditNote, invoice)
    draft = make_draft(tenant.workspace, customer)
    # As the rows were before the migration added the column.
    Invoice.objects.update(counterpart_snapshot={})
    CreditNote.objects.update(counterpart_snapshot={})
    migration = importlib.import_module("invoices.migrations.0018_document_counterpart_snapshot")

    migration.freeze(apps, None)

    frozen = counterpart_record(customer)
    assert Invoice.objects.get(pk=invoice.id).counterpart_snapshot == frozen
    assert CreditNote.objects.get(pk=note.id).counterpart_snapshot == frozen
    assert Invoice.objects.get(pk=draft.id).counterpart_snapshot == {}
