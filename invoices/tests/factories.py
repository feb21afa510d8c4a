"""Factories of invoices, credit and debit notes, and orders."""

import datetime
from decimal import Decimal

import factory

from billing.documents import apply_totals
from billing.tests.factories import TenantFactory
from customers.tests.factories import CustomerFactory
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DebitNote,
    DebitNoteLine,
    Invoice,
    InvoiceLine,
    Order,
    OrderItem,
)


class InvoiceFactory(TenantFactory):
    """A draft CLP factura (33) with one line; totals as the service computes them."""

    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    document_id = 33
    currency_id = "CLP"
    date = factory.LazyFunction(lambda: datetime.date(2026, 1, 15))
    tax_percent = Decimal(19)

    @factory.post_generation
    def lines(invoice, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if not create:
            return
        lines = [InvoiceLine(invoice=invoice, name="Item", amount=Decimal(1000))]
        apply_totals(invoice, lines)
        InvoiceLine.objects.bulk_create(lines)
        invoice.save()


class FinalizedInvoiceFactory(InvoiceFactory):
    """A finalized factura (33) with one line of 1,000 + IVA (1,190), numbered."""

    status = "finalized"
    number = factory.Sequence(lambda n: n + 1)
    biller_status = "pending"


class NoteFactory(TenantFactory):
    """A draft note correcting amounts (reason 3) of a finalized invoice: 100 + IVA."""

    class Meta:
        abstract = True
        skip_postgeneration_save = True

    invoice = factory.SubFactory(
        FinalizedInvoiceFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    customer = factory.SelfAttribute("invoice.customer")
    currency_id = "CLP"
    date = factory.LazyFunction(lambda: datetime.date(2026, 1, 20))
    reason = 3
    description = "Descuento"
    tax_percent = Decimal(19)
    references = factory.LazyAttribute(
        lambda note: [
            {
                "document": "33",
                "serial": str(note.invoice.number),
                "date": note.invoice.date.isoformat(),
                "code": 3,
                "description": note.description,
            }
        ]
    )

    @factory.post_generation
    def lines(note, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if not create:
            return
        line_model = CreditNoteLine if isinstance(note, CreditNote) else DebitNoteLine
        lines = [line_model(note=note, name="Ajuste", amount=Decimal(100))]
        apply_totals(note, lines)
        line_model.objects.bulk_create(lines)
        note.save()


class CreditNoteFactory(NoteFactory):
    class Meta:
        model = CreditNote

    document_id = 61


class DebitNoteFactory(NoteFactory):
    class Meta:
        model = DebitNote

    document_id = 56


class OrderFactory(TenantFactory):
    """A draft order for a factura (33): one item of 1,000 + IVA (1,190)."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    customer = factory.SubFactory(
        CustomerFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    currency_id = "CLP"
    document_id = 33
    tax_percent = Decimal(19)
    amount = Decimal(1000)
    subtotal = Decimal(1000)
    tax = Decimal(190)
    total = Decimal(1190)

    @factory.post_generation
    def items(order, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            OrderItem.objects.create(order=order, name="Item", amount=Decimal(1000), total=1000)


FACTORIES: dict[type, type[TenantFactory]] = {
    Invoice: InvoiceFactory,
    CreditNote: CreditNoteFactory,
    DebitNote: DebitNoteFactory,
    Order: OrderFactory,
}
