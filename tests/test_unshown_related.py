"""A list or a detail GET leaves out of its query the relations the queryset joins only
for what the actions' services read (TenantViewSet.unshown_related): the answer is the
same bytes as with them joined, and the other actions still read them in the same query."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from billing.api.viewsets import without_related
from invoices.api.views import InvoiceViewSet
from invoices.models import Invoice
from invoices.selectors import credit_note_queryset, invoice_queryset
from invoices.tests.factories import FinalizedInvoiceFactory

REQUEST_ID = {"HTTP_X_REQUEST_ID": "req_same"}


def _answer(response) -> tuple[int, dict[str, str], bytes]:
    return response.status_code, dict(response.headers), response.content


@pytest.mark.parametrize(
    "url",
    ["/invoices/{pk}/", "/invoices/{pk}/?expand=customer", "/invoices/{pk}/?x=1", "/invoices/"],
)
def test_an_invoice_read_answers_as_with_its_document_type_joined(url, tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = url.format(pk=invoice.pk)
    tenant.client.get(url, **REQUEST_ID)  # compiles the detail read, when it can be

    lean = _answer(tenant.client.get(url, **REQUEST_ID))
    monkeypatch.setattr(InvoiceViewSet, "unshown_related", ())
    tenant.client.get(url, **REQUEST_ID)
    joined = _answer(tenant.client.get(url, **REQUEST_ID))

    assert lean[0] == 200, lean[2]
    assert lean == joined


def test_an_invoice_detail_read_does_not_join_its_document_type(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    tenant.client.get(f"/invoices/{invoice.pk}/")

    with CaptureQueriesContext(connection) as captured:
        response = tenant.client.get(f"/invoices/{invoice.pk}/")

    assert response.status_code == 200
    joined = [query["sql"] for query in captured if "billing_documenttype" in query["sql"]]
    assert not joined, joined


def test_the_other_actions_read_the_document_type_with_the_invoice(tenant):
    view = InvoiceViewSet()
    view.request = SimpleNamespace(
        workspace=tenant.workspace, test_mode=False, query_params=QueryDict()
    )
    for action in ("pdf", "xml", "cancel", "send", "partial_update", "destroy"):
        view.action = action
        assert view.get_queryset().query.select_related == {"document": {}}, action
    for action in ("list", "retrieve"):
        view.action = action
        assert view.get_queryset().query.select_related is False, action


def test_without_related_keeps_the_other_relations():
    notes = credit_note_queryset()  # document, invoice and invoice__document

    assert without_related(notes, ["document"]).query.select_related == {
        "invoice": {"document": {}}
    }
    assert without_related(notes, ["invoice"]).query.select_related == {"document": {}}
    assert without_related(invoice_queryset(), ["customer"]).query.select_related == {
        "document": {}
    }
    assert without_related(invoice_queryset(), ["document"]).query.select_related is False
    everything = Invoice.objects.select_related()
    assert without_related(everything, ["document"]).query.select_related is True
