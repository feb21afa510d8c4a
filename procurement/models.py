"""Suppliers and what is bought from them: purchases, purchase credit notes, retentions.

The documents are `FiscalDocument`s like invoices (same totals columns, same biller_status
life, same PDF field) with a supplier in place of the customer, so the shared machinery
(billing.documents, invoices.services.filing, invoices.pdf) handles them unchanged.
"""

from decimal import Decimal

from django.db import models

from billing.ids import public_id_field
from billing.json_fields import ObjectJSONField
from billing.models import FiscalDocument, Line, TenantModel, filed_once_constraint
from procurement.choices import ProcurementStatus


class Supplier(TenantModel):
    id = public_id_field("sup")
    name = models.CharField(max_length=64)
    country = models.ForeignKey("billing.Country", on_delete=models.PROTECT, related_name="+")
    state = models.ForeignKey(
        "billing.State", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    tax_id = models.CharField(max_length=32, blank=True)
    address = models.CharField(max_length=64, blank=True)
    # A Chilean supplier's comuna: a factura de compra (46) we issue names it (CmnaRecep).
    comuna = models.ForeignKey(
        "billing.Comuna", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(max_length=200, blank=True)
    tax_settings = ObjectJSONField()

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["workspace", "test_mode", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class SupplierDocument(FiscalDocument):
    counterpart_field = "supplier"
    customer = None  # type: ignore[assignment]  # the other party is the supplier
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16,
        choices=ProcurementStatus.choices,
        default=ProcurementStatus.DRAFT,
        db_index=True,
    )
    # Numbered by us (a factura de compra, a boleta de honorarios), not by the supplier.
    self_issued = models.BooleanField(default=False)
    # The issuer's tax id as the document records it (its supplier's when last saved as a
    # draft): a folio is one document of its issuer, however many supplier rows share
    # that RUT. Blank for a supplier without a tax id.
    supplier_tax_id = models.CharField(max_length=32, blank=True)

    class Meta(FiscalDocument.Meta):
        abstract = True


def issuer_folio_constraint(name: str) -> models.UniqueConstraint:
    """An issuer's folio is recorded once per document type, by its tax id (a supplier
    without one: by its row, the constraint beside this one)."""
    return models.UniqueConstraint(
        fields=["workspace", "test_mode", "supplier_tax_id", "document", "number"],
        condition=models.Q(number__isnull=False) & ~models.Q(supplier_tax_id=""),
        name=name,
    )


class Purchase(SupplierDocument):
    """A document received from a supplier (numbered by their folio) or issued by us on
    their behalf (46, factura de compra: numbered by our own gapless sequence)."""

    id = public_id_field("pur")
    due_date = models.DateField(null=True, blank=True)
    imported = models.BooleanField(default=False)

    class Meta(SupplierDocument.Meta):
        constraints = [
            # A supplier's folio is recorded once per document type.
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "supplier", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="purchase_supplier_folio_unique",
            ),
            issuer_folio_constraint("purchase_issuer_folio_unique"),
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False, self_issued=True),
                name="purchase_own_number_unique",
            ),
            filed_once_constraint("purchase_filed_once"),
        ]
        indexes = [models.Index(fields=["workspace", "test_mode", "-created_at"])]


class PurchaseCreditNote(SupplierDocument):
    """A credit note on a purchase: the supplier's (their folio) or ours when the purchase
    was self-issued."""

    id = public_id_field("pcn")
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="credit_notes")
    reason = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=90, blank=True)

    @property
    def withholds_tax(self) -> bool:
        # A note credits its purchase in its terms: a 46's note withholds the IVA as the
        # 46 did, so it credits what the 46 owed.
        return self.purchase.withholds_tax

    class Meta(SupplierDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "supplier", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="purchase_credit_note_supplier_folio_unique",
            ),
            issuer_folio_constraint("purchase_credit_note_issuer_folio_unique"),
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False, self_issued=True),
                name="purchase_credit_note_own_number_unique",
            ),
            filed_once_constraint("purchase_credit_note_filed_once"),
        ]


class RetentionRate(models.Model):
    """The honorarios withholding rate from `valid_from` on (Ley 21.133): data, seeded by
    a migration and editable in the admin, looked up by a retention's date."""

    country = models.ForeignKey("billing.Country", on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField()
    percent = models.DecimalField(max_digits=7, decimal_places=4)

    class Meta:
        ordering = ["country", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["country", "valid_from"], name="retention_rate_unique"),
            models.CheckConstraint(
                condition=models.Q(percent__gt=0, percent__lt=100),
                name="retention_rate_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country_id} {self.percent}% from {self.valid_from}"


class Retention(SupplierDocument):
    """A boleta de prestación de servicios de terceros: we withhold the honorarios tax from
    a supplier's gross amount and pay them the rest.

    Stored as its lines' totals (rules.md §2): `subtotal` is the gross amount, `retention`
    the tax withheld at `retention_percent`, `total_adjusted` the net paid; the API shows
    them as `amount`, `retention` and `total`.
    """

    id = public_id_field("ret")
    purchase = models.ForeignKey(
        Purchase, on_delete=models.PROTECT, related_name="retentions", null=True, blank=True
    )
    retention_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))

    class Meta(SupplierDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="retention_number_unique",
            ),
            filed_once_constraint("retention_filed_once"),
        ]
        indexes = [models.Index(fields=["workspace", "test_mode", "-created_at"])]


class PurchaseLine(Line):
    id = public_id_field("lin")
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="lines")


class PurchaseCreditNoteLine(Line):
    id = public_id_field("lin")
    note = models.ForeignKey(PurchaseCreditNote, on_delete=models.CASCADE, related_name="lines")


class RetentionLine(Line):
    id = public_id_field("lin")
    # Not `retention`: every line has a `retention` amount (its share of the withholding).
    retention_document = models.ForeignKey(
        Retention, on_delete=models.CASCADE, related_name="lines"
    )
