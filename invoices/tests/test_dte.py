"""The DTE XML: every document type we issue in the SII's schema, with its timbre signed
by the CAF's key and the whole signed (XMLDSig) with the workspace's certificate."""

import pytest

from billing.models import Certificate
from invoices.models import Invoice
from invoices.tests.dte_helpers import load_cafs, valid_dte, verify_signature, verify_timbre
from invoices.tests.pdf_helpers import make_draft, make_issuer

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafs(tenant):
    make_issuer(tenant.workspace)
    return load_cafs(tenant.workspace)


def finalized(tenant, draft) -> Invoice:
    response = tenant.client.post(f"/invoices/{draft.id}/finalize/")
    assert response.status_code == 200, response.json()
    return Invoice.objects.get(pk=draft.id)


def test_a_factura_is_a_signed_dte_in_the_sii_schema(tenant, cafs):
    invoice = finalized(tenant, make_draft(tenant.workspace))

    response = tenant.client.get(f"/invoices/{invoice.id}/xml/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=ISO-8859-1"
    dte = valid_dte(response.content)
    verify_timbre(dte, cafs[33])
    signed = verify_signature(response.content, Certificate.objects.get())
    assert signed.get("ID") == "F1T33"
