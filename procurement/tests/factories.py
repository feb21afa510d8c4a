"""Factories of suppliers, purchases, their credit notes and retentions."""

import datetime
from decimal import Decimal

import factory

from billing.documents import apply_totals
from billing.models import Country
from billing.tests.factories import TenantFactory, chilean_rut
from procurement.models import (
    Purchase,
    PurchaseCreditNote,
    PurchaseCreditNoteLine,
    PurchaseLine,
    Retention,
    RetentionLine,
    Supplier,
)


class SupplierFactory(TenantFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"Supplier {n}")
    country = factory.LazyFunction(lambda: Country.objects.get(code="CL"))
    currency_id = "CLP"
    tax_id = factory.Sequence(lambda n: chilean_rut(500_000 + n))


class _SupplierDocumentFactory(TenantFactory):
    class Meta:
        abstract = True
        skip_postgeneration_save = True

    supplier = factory.SubFactory(
        SupplierFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    supplier_tax_id = factory.SelfAttribute("supplier.tax_id")
    currency_id = "CLP"
    date = factory.LazyFunction(lambda: datetime.date(2026, 1, 15))


class PurchaseFactory(_SupplierDocumentFactory):
    """A draft factura (33) received from a supplier: 1,000 + IVA, the supplier's folio."""

    class Meta:
        model = Purchase

    document_id = 33
    number = factory.Sequence(lambda n: n + 1)
    tax_percent = Decimal(19)

    @factory.post_generation
    def lines(purchase, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            lines = [PurchaseLine(purchase=purchase, name="Item", amount=Decimal(1000))]
            apply_totals(purchase, lines)
            PurchaseLine.objects.bulk_create(lines)
            purchase.save()


class FinalizedPurchaseFactory(PurchaseFactory):
    status = "finalized"
    biller_status = "pending"


class PurchaseCreditNoteFactory(_SupplierDocumentFactory):
    """A draft credit note (61) of the supplier on a finalized purchase: 100 + IVA."""

    class Meta:
        model = PurchaseCreditNote

    purchase = factory.SubFactory(
        FinalizedPurchaseFactory,
        workspace=factory.SelfAttribute("..workspace"),
        test_mode=factory.SelfAttribute("..test_mode"),
    )
    supplier = factory.SelfAttribute("purchase.supplier")
    document_id = 61
    number = factory.Sequence(lambda n: n + 1)
    reason = 3
    description = ""
    tax_percent = Decimal(19)
    # The reference the service writes (procurement.services.credit_notes._price).
    references = factory.LazyAttribute(
        lambda note: [
            {
                "document": "33",
                "serial": str(note.purchase.number),
                "date": note.purchase.date.isoformat(),
                "code": 3,
                "description": note.description,
            }
        ]
    )

    @factory.post_generation
    def lines(note, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            lines = [PurchaseCreditNoteLine(note=note, name="Ajuste", amount=Decimal(100))]
            apply_totals(note, lines)
            PurchaseCreditNoteLine.objects.bulk_create(lines)
            note.save()


class RetentionFactory(_SupplierDocumentFactory):
    """A draft boleta de honorarios (BTE) of 100,000 gross at 2026's 15.25%."""

    class Meta:
        model = Retention

    document_id = 900
    self_issued = True
    retention_percent = Decimal("15.25")

    @factory.post_generation
    def lines(retention, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            line = RetentionLine(
                retention_document=retention,
                name="Honorarios",
                amount=Decimal(100000),
                exempt=True,
                retention_percent=retention.retention_percent,
            )
            apply_totals(retention, [line])
            RetentionLine.objects.bulk_create([line])
            retention.save()


FACTORIES: dict[type, type[TenantFactory]] = {
    Supplier: SupplierFactory,
    Purchase: PurchaseFactory,
    PurchaseCreditNote: PurchaseCreditNoteFactory,
    Retention: RetentionFactory,
}
