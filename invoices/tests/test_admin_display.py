"""What staff read in the back office: the product's name, documents titled as on paper,
money in the currency's format, live/test at a glance, the agency's answer as a table."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from billing.tests.factories import UserFactory
from invoices.services.invoices import invoice_finalize
from invoices.tests.factories import (
    CreditNoteFactory,
    FinalizedInvoiceFactory,
    InvoiceFactory,
    OrderFactory,
)
from invoices.tests.pdf_helpers import NOW, make_draft, make_issuer
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


def _page(client, document) -> str:  # type: ignore[no-untyped-def]
    opts = document._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[document.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _readonly(html: str, name: str) -> list[str]:
    """What the page shows in the read-only cells of a field (form rows and inline rows)."""
    cells = re.findall(rf'class="[^"]*field-{name}\b[^"]*">(.*?)</(?:div|td|p)>', html, re.S)
    # A form row also holds the field's label: the value is its last line.
    return [re.sub(r"<[^>]+>", "", cell).split("\n")[-1].strip() for cell in cells]


def test_a_finalized_document_shows_its_money_in_the_currency_s_format(staff_client) -> None:  # type: ignore[no-untyped-def]
    workspace = make_issuer(make_tenant().workspace)
    invoice = invoice_finalize(invoice=make_draft(workspace), now=NOW)

    html = _page(staff_client, invoice)

    assert ".000000" not in html
    assert "$43.742" in _readonly(html, "total_shown")
    assert "$6.226" in _readonly(html, "tax_shown")
    assert "5 %" in _readonly(html, "discount_shown")  # a percent, not pesos
    # The lines (an inline): unit prices, discounts and totals.
    assert _readonly(html, "amount_shown")[-3:] == ["$10.000", "$4.990", "$2.500"]
    assert "10 %" in _readonly(html, "discount_shown")
    assert "$30.000" in _readonly(html, "total_shown")


def test_a_draft_keeps_its_editable_fields_plain_and_formats_the_computed_ones(
    staff_client,
) -> None:  # type: ignore[no-untyped-def]
    workspace = make_issuer(make_tenant().workspace)
    draft = make_draft(workspace)

    html = _page(staff_client, draft)

    assert "$43.742" in _readonly(html, "total_shown")
    # A line's unit price is an input while the invoice is a draft; its total is computed.
    assert re.search(r'name="lines-0-amount"[^>]*value="10000(\.0+)?"', html)
    assert "$30.000" in _readonly(html, "total_shown")


@pytest.mark.parametrize(
    ("factory", "changelist"),
    [
        (CreditNoteFactory, "admin:invoices_creditnote_changelist"),
        (OrderFactory, "admin:invoices_order_changelist"),
    ],
)
def test_note_and_order_lists_show_money_and_mode(staff_client, factory, changelist) -> None:  # type: ignore[no-untyped-def]
    factory(workspace=make_tenant().workspace)

    html = staff_client.get(reverse(changelist)).content.decode()

    assert re.search(r'class="field-total_shown">\$1[.0-9]*<', html)
    assert ".000000" not in html
    assert re.search(r'class="field-mode">live<', html)
