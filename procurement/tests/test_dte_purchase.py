"""The factura de compra (46) we issue for a supplier: its DTE names the supplier as the
receiver and withholds the whole IVA (ImptoReten 15), in the SII's schema."""

import datetime

import pytest

from billing.models import Certificate, DocumentType
from invoices.dte import dte_xml
from invoices.tests.dte_helpers import load_cafs, text, valid_dte, verify_signature, verify_timbre
from invoices.tests.pdf_helpers import make_issuer
from procurement.services.purchases import purchase_create, purchase_finalize
from procurement.tests.factories import SupplierFactory
from tests.numbers import D

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)


def test_a_factura_de_compra_withholds_the_iva_in_its_dte(tenant):
    make_issuer(tenant.workspace)
    cafs = load_cafs(tenant.workspace)
    supplier = SupplierFactory(workspace=tenant.workspace, name="Recolectora del Maule")
    draft = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        document=DocumentType.objects.get(pk=46),
        date=datetime.date(2026, 2, 10),
        lines=[{"name": "Chatarra de cobre", "amount": D(1500), "quantity": D(10)}],
    )
    purchase = purchase_finalize(purchase=draft, now=NOW)

    content = dte_xml(purchase, now=NOW)

    dte = valid_dte(content)
    totals = "Documento/Encabezado/Totales"
    assert text(dte, "Documento/Encabezado/Receptor/RUTRecep") == supplier.tax_id
    assert text(dte, f"{totals}/MntNeto") == "15000"
    assert text(dte, f"{totals}/IVA") == "2850"
    assert text(dte, f"{totals}/ImptoReten/TipoImp") == "15"
    assert text(dte, f"{totals}/ImptoReten/MontoImp") == "2850"
    # What the buyer pays the supplier: the neto, the IVA withheld.
    assert text(dte, f"{totals}/MntTotal") == "15000"
    assert text(dte, "Documento/TED/DD/MNT") == "15000"  # the TED repeats MntTotal
    verify_timbre(dte, cafs[46])
    verify_signature(content, Certificate.objects.get())
