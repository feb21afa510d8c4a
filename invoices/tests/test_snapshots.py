"""An invoice's event snapshot is shown through its serializer's kept plan
(billing.representation_plans): it must be what DRF's serializer shows, value for value
and type for type, for an invoice in each state, read as a write reads it or not."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.encoders import json_text
from billing.representations import snapshot
from invoices.models import Invoice
from invoices.representations import InvoiceSerializer, invoice_snapshot
from invoices.selectors import invoice_reads_load
from invoices.tests.factories import CreditNoteFactory, FinalizedInvoiceFactory, InvoiceFactory
from payments.models import PaymentAllocation
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def _paid_in_part(workspace):
    invoice = FinalizedInvoiceFactory(workspace=workspace)
    payment = PaymentFactory(workspace=workspace, customer=invoice.customer)
    PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount=Decimal(500), amount_refunded=Decimal(100)
    )
    return invoice


def _with_references(workspace):
    references = [{"document": "801", "serial": "OC-7", "date": datetime.date(2026, 1, 2)}]
    return InvoiceFactory(
        workspace=workspace, references=references, metadata={"crm": "ñandú"}, note="Año"
    )


INVOICE_STATES = {
    "draft": lambda workspace: InvoiceFactory(workspace=workspace),
    "draft with references and metadata": _with_references,
    "finalized": lambda workspace: FinalizedInvoiceFactory(workspace=workspace),
    "paid in part": _paid_in_part,
    "credited": lambda workspace: (
        CreditNoteFactory(
            workspace=workspace, invoice=FinalizedInvoiceFactory(workspace=workspace)
        ).invoice
    ),
    "uncollectible": lambda workspace: FinalizedInvoiceFactory(
        workspace=workspace, uncollectible_at=timezone.now()
    ),
}


def _same(planned, drf):
    # By text as well: a Decimal equals an int of its value, a JSON number does not show
    # the same once written.
    assert planned == drf
    assert json_text(planned) == json_text(drf)


@pytest.mark.parametrize("state", INVOICE_STATES)
def test_an_invoice_snapshot_is_what_drf_shows(state, tenant):
    made = INVOICE_STATES[state](tenant.workspace)

    # As a write has it: its reads loaded, or left to the fields to query.
    loaded = Invoice.objects.get(pk=made.pk)
    invoice_reads_load(loaded)
    plain = Invoice.objects.get(pk=made.pk)

    _same(invoice_snapshot(loaded), snapshot(InvoiceSerializer, loaded))
    _same(invoice_snapshot(plain), snapshot(InvoiceSerializer, plain))


def test_one_snapshot_after_another_shows_each_invoice_as_it_is(tenant):
    first, second = (FinalizedInvoiceFactory(workspace=tenant.workspace) for _ in range(2))
    invoice_snapshot(first)

    shown = invoice_snapshot(second)

    assert shown["id"] == second.pk and shown["number"] == second.number
    _same(shown, snapshot(InvoiceSerializer, second))
