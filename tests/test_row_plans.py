"""A detail GET shown from its compiled read's rows (billing.row_plans) answers the same
status, headers and bytes as DRF's retrieve, for invoices of every shape: lines with and
without discounts, taxes, additional taxes and retentions, invoice discounts, payments,
credit notes, nulls, each document type."""

import random
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from billing import compiled_reads, row_plans
from billing.api import viewsets
from catalog.tests.factories import TaxFactory
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, Invoice, InvoiceLine
from invoices.representations import InvoiceSerializer
from invoices.tests.factories import CreditNoteFactory
from tests.test_compiled_reads import _lean_and_drf, _paid

DOCUMENT_TYPES = [33, 34, 39, 41]


def _amount(rng: random.Random, places: int) -> str:
    return str(Decimal(rng.randint(0, 5_000_000)).scaleb(-rng.randint(0, places)))


def _line(rng: random.Random, tax_id: str) -> dict:
    line: dict = {"name": f"Item {rng.randint(1, 99)}", "amount": _amount(rng, 2)}
    if rng.random() < 0.5:
        line["quantity"] = _amount(rng, 6)
    if rng.random() < 0.4:
        line["discount"] = str(rng.randint(0, 50))
    if rng.random() < 0.3:
        line["exempt"] = True
    if rng.random() < 0.3:
        line["tax"] = tax_id
    if rng.random() < 0.2:
        line["additional_tax"] = rng.choice(["24", "27", "271"])
    if rng.random() < 0.2:
        line["retention_percent"] = "10.75"
    if rng.random() < 0.3:
        line.update(description="Detalle", code="SKU-1", code_scheme="INT1", unit_label="Hr")
    return line


def _random_invoice(rng: random.Random, tenant, customer, tax_id: str) -> Invoice | None:
    body: dict = {
        "customer": customer.pk,
        "document": rng.choice(DOCUMENT_TYPES),
        "date": "2026-02-28",
        "lines": [_line(rng, tax_id) for _ in range(rng.randint(0, 6))],
    }
    if rng.random() < 0.4:
        body["discount"] = str(rng.randint(1, 30))
    if rng.random() < 0.3:
        body.update(note="Nota", metadata={"order": "42"})
    created = tenant.client.post("/invoices/", body, format="json")
    if created.status_code != 201:
        return None  # a combination the rules refuse (an exempt document's taxed line)
    invoice_id = created.json()["id"]
    if body["lines"] and rng.random() < 0.7:
        tenant.client.post(f"/invoices/{invoice_id}/finalize/")
    invoice = Invoice.objects.get(pk=invoice_id)
    if invoice.status == "finalized" and rng.random() < 0.5:
        _paid(invoice)
    if invoice.status == "finalized" and invoice.document_id == 33 and rng.random() < 0.4:
        CreditNoteFactory(workspace=tenant.workspace, invoice=invoice, status="finalized")
    return invoice


@pytest.fixture
def shown_from_rows(monkeypatch):
    """The arguments of each representation the detail view showed from its rows."""
    shown: list = []
    from_rows = row_plans.row_representation
    monkeypatch.setattr(
        viewsets, "row_representation", lambda *args: shown.append(args) or from_rows(*args)
    )
    return shown


@pytest.mark.parametrize("seed", range(4))
def test_random_invoices_shown_from_rows_answer_as_drfs_retrieve(
    seed, tenant, monkeypatch, shown_from_rows
):
    rng = random.Random(seed)
    customer = CustomerFactory(workspace=tenant.workspace)
    tax = TaxFactory(workspace=tenant.workspace, percent=Decimal("19.5"))

    read = 0
    for _ in range(6):
        invoice = _random_invoice(rng, tenant, customer, tax.pk)
        if invoice is None:
            continue
        lean, drf = _lean_and_drf(tenant.client, f"/invoices/{invoice.pk}/", monkeypatch)
        assert lean[0] == 200, lean[2]
        assert lean == drf
        read += 1

    assert read
    assert shown_from_rows


def test_an_invoice_shown_from_rows_builds_no_line_instances(tenant, monkeypatch):
    invoice = _paid(CreditNoteFactory(workspace=tenant.workspace, status="finalized").invoice)
    tenant.client.get(f"/invoices/{invoice.pk}/")  # compiles
    built = []
    objects = compiled_reads.CompiledRead.objects
    monkeypatch.setattr(
        compiled_reads.CompiledRead,
        "objects",
        lambda self, rows: built.append(self.model) or objects(self, rows),
    )

    assert tenant.client.get(f"/invoices/{invoice.pk}/").status_code == 200

    # The invoice's own instance, for the fields that read it (amount due, payments);
    # authentication's own compiled read (the caller's token) is not the invoice's.
    assert [model for model in built if model._meta.app_label == "invoices"] == [Invoice]
    assert InvoiceLine not in built and CreditNote not in built


class _UnmarkedReader(InvoiceSerializer):
    reader = serializers.SerializerMethodField()

    def get_reader(self, invoice: Invoice) -> int:
        return len(invoice.lines.all())

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "reader"]


class _MarkedReader(_UnmarkedReader):
    @row_plans.reads_own_row
    def get_reader(self, invoice: Invoice) -> int:
        return invoice.number or 0


def _found(tenant, invoice):
    from invoices.api.views import InvoiceViewSet

    key = (InvoiceViewSet, (), tenant.workspace.pk, False)
    tenant.client.get(f"/invoices/{invoice.pk}/")  # compiles and keeps the read
    read = compiled_reads.compiled_object_read(key, pytest.fail, invoice.pk)
    assert read is not None
    found = read.find({"workspace": tenant.workspace.pk, "pk": invoice.pk})
    assert found is not None
    return found


def test_a_field_reading_more_than_its_row_has_no_row_plan(tenant):
    invoice = CreditNoteFactory(workspace=tenant.workspace).invoice
    found = _found(tenant, invoice)

    assert row_plans.row_representation(_UnmarkedReader, found, {}) is None


def test_a_marked_field_is_read_off_the_objects_own_instance(tenant):
    invoice = CreditNoteFactory(workspace=tenant.workspace).invoice
    found = _found(tenant, invoice)

    shown = row_plans.row_representation(_MarkedReader, found, {})

    assert shown == dict(_MarkedReader(Invoice.objects.get(pk=invoice.pk)).data)


def test_an_invoice_shown_from_rows_in_another_zone_answers_as_drfs_retrieve(
    tenant, monkeypatch, shown_from_rows
):
    # The current zone is asked for once per representation, not once per datetime.
    invoice = _paid(CreditNoteFactory(workspace=tenant.workspace, status="finalized").invoice)

    with timezone.override("America/Santiago"):
        lean, drf = _lean_and_drf(tenant.client, f"/invoices/{invoice.pk}/", monkeypatch)

    assert lean[0] == 200, lean[2]
    assert lean == drf
    assert shown_from_rows
    assert b"-03:00" in lean[2] or b"-04:00" in lean[2]
