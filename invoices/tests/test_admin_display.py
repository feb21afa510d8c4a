"""What staff read in the back office: the product's name, documents titled as on paper,
money in the currency's format, live/test at a glance, the agency's answer as a table."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from billing.tests.factories import UserFactory
from invoices.tests.factories import FinalizedInvoiceFactory, InvoiceFactory
from tests.conftest import make_tenant


@pytest.fixture
def staff_client(db):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_names_the_product(staff_client) -> None:  # type: ignore[no-untyped-def]
    html = staff_client.get("/admin/").content.decode()

    assert "Billing back office" in html
    assert "Django administration" not in html
    assert "/static/billing/admin.css" in html


def test_documents_are_titled_as_on_paper(db) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    finalized = FinalizedInvoiceFactory(workspace=tenant.workspace, number=7)
    draft = InvoiceFactory(workspace=tenant.workspace)

    assert str(finalized) == "Factura electrónica N° 7"
    assert str(draft) == f"Factura electrónica (draft {draft.pk})"


def test_the_invoice_list_shows_money_and_mode(staff_client) -> None:  # type: ignore[no-untyped-def]
    live = FinalizedInvoiceFactory(workspace=make_tenant().workspace)
    FinalizedInvoiceFactory(workspace=make_tenant(test_mode=True).workspace, test_mode=True)
    InvoiceFactory(workspace=live.workspace, document_id=34)

    html = staff_client.get(reverse("admin:invoices_invoice_changelist")).content.decode()

    assert "$1.190" in html and "1190.000000" not in html
    assert re.search(r'class="field-mode">live<', html)
    assert re.search(r'class="field-mode">test<', html)
    # The document filter lists the type in use once, not every country's namesakes.
    document_filter = html[html.index("By document") :]
    choices = re.findall(r'<a href="\?document__id__exact=\d+">([^<]+)</a>', document_filter)
    assert sorted(choices) == [
        "33 Factura electrónica",
        "34 Factura no afecta o exenta electrónica",
    ]
    assert live.id in html


def test_the_agency_s_answer_is_a_table(staff_client) -> None:  # type: ignore[no-untyped-def]
    invoice = FinalizedInvoiceFactory(
        workspace=make_tenant().workspace,
        tax_agency={"status": "accepted", "tracking_id": "trk_1", "response": {"upload": "EPR"}},
    )

    html = staff_client.get(
        reverse("admin:invoices_invoice_change", args=[invoice.pk])
    ).content.decode()

    table = re.search(r'<table class="agency-response">(.*?)</table>', html, re.S)
    assert table is not None
    assert "<tr><th>status</th><td>accepted</td></tr>" in table.group(1)
    assert "<th>response</th><td>{&quot;upload&quot;: &quot;EPR&quot;}</td>" in table.group(1)
