"""A document this workspace issues as a DTE has at most the lines the SII's schema allows
(Detalle's maxOccurs: 60 in DTE_v10.xsd, 1000 in the boleta's): more is refused while it
is a draft and at finalize, before it takes a folio it could never use."""

import datetime
from decimal import Decimal

import pytest

from billing.errors import InvalidInput
from billing.models import DocumentType, NumberSequence
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice, InvoiceLine
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.services.notes import credit_note_create
from invoices.tests.dte_helpers import load_cafs, valid_dte
from invoices.tests.pdf_helpers import NOW, make_customer, make_issuer
from procurement.models import Purchase, PurchaseLine
from procurement.services.purchases import purchase_create, purchase_finalize
from procurement.tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

DATE = datetime.date(2026, 3, 31)


def rows(count: int) -> list[dict[str, object]]:
    return [{"name": f"Item {n}", "amount": Decimal(1000)} for n in range(count)]


def api_rows(count: int) -> list[dict[str, object]]:
    return [{"name": f"Item {n}", "amount": 1000} for n in range(count)]


def no_folio_taken(workspace, code: int) -> bool:
    return not NumberSequence.objects.filter(
        workspace=workspace, document_type_id=code, last_number__gt=0
    ).exists()


def test_a_factura_of_61_lines_is_refused_as_a_draft(tenant):
    customer = make_customer(tenant.workspace)

    response = tenant.client.post(
        "/invoices/",
        {"customer": customer.id, "document": 33, "date": "2026-03-31", "lines": api_rows(61)},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert "at most 60 lines" in response.json()["lines"][0]
    assert not Invoice.objects.exists()


def test_a_factura_of_60_lines_is_a_valid_dte(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=DATE,
        lines=rows(60),
    )
    invoice_finalize(invoice=draft, now=NOW)

    response = tenant.client.get(f"/invoices/{draft.id}/xml/")

    assert response.status_code == 200, response.json()
    valid_dte(response.content)


def test_a_draft_update_to_61_lines_is_refused_and_keeps_the_draft(tenant):
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=DATE,
        lines=rows(2),
    )

    response = tenant.client.patch(f"/invoices/{draft.id}/", {"lines": api_rows(61)}, format="json")

    assert response.status_code == 400, response.json()
    assert "at most 60 lines" in response.json()["lines"][0]
    assert draft.lines.count() == 2


def test_a_draft_of_61_lines_written_before_the_rule_takes_no_folio(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=DATE,
        lines=rows(60),
    )
    InvoiceLine.objects.create(invoice=draft, position=60, name="Item 60", amount=1000)

    response = tenant.client.post(f"/invoices/{draft.id}/finalize/")

    assert response.status_code == 400, response.json()
    assert "at most 60 lines" in response.json()["lines"][0]
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)
    assert no_folio_taken(tenant.workspace, 33)


def test_a_boleta_may_have_the_boleta_schemas_1000_lines(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    draft = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=tenant.workspace, tax_id=""),
        document=DocumentType.objects.get(pk=39),
        date=DATE,
        lines=rows(61),
    )
    invoice_finalize(invoice=draft, now=NOW)

    response = tenant.client.get(f"/invoices/{draft.id}/xml/")

    assert response.status_code == 200, response.json()
    valid_dte(response.content)
    with pytest.raises(InvalidInput, match="at most 1000 lines"):
        invoice_create(
            workspace=tenant.workspace,
            test_mode=False,
            customer=CustomerFactory(workspace=tenant.workspace, tax_id=""),
            document=DocumentType.objects.get(pk=39),
            date=DATE,
            lines=rows(1001),
        )


def test_a_credit_note_of_61_lines_is_refused(tenant):
    invoice = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=make_customer(tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=DATE,
        lines=rows(1),
    )
    invoice = invoice_finalize(invoice=invoice, now=NOW)

    with pytest.raises(InvalidInput, match="at most 60 lines"):
        credit_note_create(
            workspace=tenant.workspace,
            test_mode=False,
            invoice=invoice,
            reason=3,
            now=NOW,
            date=DATE,
            description="Ajuste",
            lines=rows(61),
        )


def test_a_factura_de_compra_of_61_lines_is_refused_before_its_folio(tenant):
    make_issuer(tenant.workspace)
    load_cafs(tenant.workspace)
    supplier = SupplierFactory(workspace=tenant.workspace)
    with pytest.raises(InvalidInput, match="at most 60 lines"):
        purchase_create(
            workspace=tenant.workspace,
            test_mode=False,
            supplier=supplier,
            document=DocumentType.objects.get(pk=46),
            date=DATE,
            lines=rows(61),
        )
    draft = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        document=DocumentType.objects.get(pk=46),
        date=DATE,
        lines=rows(60),
    )
    PurchaseLine.objects.create(purchase=draft, position=60, name="Item 60", amount=1000)

    with pytest.raises(InvalidInput, match="at most 60 lines"):
        purchase_finalize(purchase=draft, now=NOW)

    assert Purchase.objects.get(pk=draft.pk).number is None
    assert no_folio_taken(tenant.workspace, 46)


def test_a_suppliers_own_document_is_recorded_with_any_number_of_lines(tenant):
    # The supplier issued its DTE: what it lists is recorded as it came, no folio of ours.
    purchase = purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=SupplierFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=33),
        date=DATE,
        number=4521,
        lines=rows(61),
    )

    assert PurchaseLine.objects.filter(purchase=purchase).count() == 61
