"""A finalized purchase document shows its supplier as the supplier was when it was
finalized (guarantees G11): a factura de compra (46) we issued keeps its receiver in its
DTE, timbre and PDF, and a retention its supplier in its PDF, whatever the supplier's
record says later. A draft follows the supplier."""

import datetime
import importlib

import pytest
from django.apps import apps

from billing.models import DocumentType
from billing.models.documents import counterpart_record
from invoices.pdf.render import document_pdf_render
from invoices.tests.dte_helpers import load_cafs, receiver_and_timbre, text, valid_dte
from invoices.tests.pdf_helpers import downloaded, make_issuer, pdf_bytes_text
from procurement.models import Purchase
from procurement.services.purchases import purchase_create, purchase_finalize
from procurement.services.retentions import retention_create, retention_finalize
from procurement.tests.factories import SupplierFactory
from tests.numbers import D

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
CHANGES = {
    "name": "Maule Renombrada SpA",
    "tax_id": "96512340-7",
    "address": "Camino Nuevo 7",
    "email": "nuevo@maule.cl",
}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def supplier(tenant):
    make_issuer(tenant.workspace)
    return SupplierFactory(
        workspace=tenant.workspace,
        name="Recolectora del Maule",
        address="Ruta 5 km 250",
        email="ventas@maule.cl",
    )


def change_supplier(tenant, supplier) -> None:
    response = tenant.client.patch(f"/suppliers/{supplier.id}/", CHANGES, format="json")
    assert response.status_code == 200, response.json()


def factura_de_compra(tenant, supplier) -> Purchase:
    return purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        document=DocumentType.objects.get(pk=46),
        date=datetime.date(2026, 2, 10),
        lines=[{"name": "Chatarra de cobre", "amount": D(1500), "quantity": D(10)}],
    )


def test_a_factura_de_compra_shows_its_supplier_as_at_finalize(tenant, supplier, tmp_path):
    load_cafs(tenant.workspace)
    purchase = purchase_finalize(purchase=factura_de_compra(tenant, supplier), now=NOW)
    path = f"/purchases/{purchase.id}/"
    xml_before = receiver_and_timbre(downloaded(tenant.client, f"{path}xml/"))
    preview_before = pdf_bytes_text(document_pdf_render(purchase), tmp_path, "before")
    shown_before = tenant.client.get(path).json()

    change_supplier(tenant, supplier)

    assert tenant.client.get(path).json() == shown_before
    xml_after = downloaded(tenant.client, f"{path}xml/")
    assert receiver_and_timbre(xml_after) == xml_before
    dte = valid_dte(xml_after)
    receiver = "Documento/Encabezado/Receptor"
    assert text(dte, f"{receiver}/RznSocRecep") == "Recolectora del Maule"
    assert text(dte, f"{receiver}/RUTRecep") == supplier.tax_id
    assert text(dte, f"{receiver}/DirRecep") == "Ruta 5 km 250"
    assert text(dte, f"{receiver}/CorreoRecep") == "ventas@maule.cl"
    assert text(dte, "Documento/TED/DD/RSR") == "Recolectora del Maule"
    assert text(dte, "Documento/TED/DD/RR") == supplier.tax_id
    stored = pdf_bytes_text(downloaded(tenant.client, f"{path}pdf/"), tmp_path, "stored")
    assert stored == preview_before
    assert "Recolectora del Maule" in stored
    assert "Ruta 5 km 250" in stored
    assert CHANGES["name"] not in stored


def test_a_retention_shows_its_supplier_as_at_finalize(tenant, supplier, tmp_path):
    draft = retention_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        date=datetime.date(2026, 2, 10),
        lines=[{"name": "Asesoría contable", "amount": D(100000)}],
    )
    retention = retention_finalize(retention=draft, now=NOW)
    preview_before = pdf_bytes_text(document_pdf_render(retention), tmp_path, "before")

    change_supplier(tenant, supplier)

    stored = pdf_bytes_text(
        downloaded(tenant.client, f"/retentions/{retention.id}/pdf/"), tmp_path, "stored"
    )
    assert stored == preview_before
    assert "Recolectora del Maule" in stored
    assert CHANGES["name"] not in stored


def test_a_draft_purchase_shows_the_supplier_as_it_is_now(tenant, supplier, tmp_path):
    draft = factura_de_compra(tenant, supplier)

    change_supplier(tenant, supplier)

    preview = pdf_bytes_text(
        downloaded(tenant.client, f"/purchases/{draft.id}/pdf/"), tmp_path, "draft"
    )
    assert CHANGES["name"] in preview
    assert "Recolectora del Maule" not in preview


def test_documents_finalized_before_snapshots_take_their_supplier_as_it_stands(tenant, supplier):
    purchase = purchase_finalize(purchase=factura_de_compra(tenant, supplier), now=NOW)
    draft = factura_de_compra(tenant, supplier)
    Purchase.objects.update(counterpart_snapshot={})
    migration = importlib.import_module("procurement.migrations.0015_document_counterpart_snapshot")

    migration.freeze(apps, None)

    assert Purchase.objects.get(pk=purchase.id).counterpart_snapshot == counterpart_record(supplier)
    assert Purchase.objects.get(pk=draft.id).counterpart_snapshot == {}
