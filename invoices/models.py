"""Fiscal documents: invoices, credit notes and debit notes, with their lines.

Totals are computed by billing.totals on every draft write and frozen at finalize.
"""

from decimal import Decimal
from typing import Any

from django.db import models

from billing.encoders import JSONEncoder
from billing.errors import DomainError
from billing.ids import public_id_field
from billing.models import TenantModel
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from invoices.choices import (
    BillerStatus,
    CollectionMethod,
    DiscountScheme,
    InvoiceStatus,
    NoteStatus,
)


def money_field(**kwargs: Any) -> models.DecimalField:
    kwargs.setdefault("default", Decimal(0))
    return models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs
    )


class FiscalDocument(TenantModel):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey("billing.DocumentType", on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveBigIntegerField(null=True, blank=True)
    note = models.CharField(max_length=256, blank=True)
    discount = money_field()
    discount_scheme = models.CharField(
        max_length=1, choices=DiscountScheme.choices, default=DiscountScheme.PERCENT
    )
    custom_change = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal(1))
    # [{"document": "33", "serial": "123", "date": "2026-01-31", "code": 1, "description": "…"}]
    references = models.JSONField(encoder=JSONEncoder, default=list, blank=True)
    biller_status = models.CharField(
        max_length=16, choices=BillerStatus.choices, null=True, blank=True
    )
    tax_agency = models.JSONField(encoder=JSONEncoder, default=dict, blank=True)
    # The agency's tracking id for the submission, and when the next submit/poll is due.
    tax_agency_tracking_id = models.CharField(max_length=64, blank=True)
    biller_attempts = models.PositiveIntegerField(default=0)
    biller_next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    # Rendered once after finalize and never again: the PDF a customer received.
    pdf = models.FileField(upload_to="documents/%Y/%m/", blank=True)
    # Totals (rules.md §2)
    amount = money_field()
    exempt = money_field()
    discount_amount = money_field()
    subtotal = money_field()
    tax = money_field()
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    total = money_field()
    retention = money_field()
    total_adjusted = money_field()

    class Meta(TenantModel.Meta):
        abstract = True

    def queue_for_tax_agency(self, *, imported: bool = False) -> None:
        """Put a document being finalized in line for the tax agency (an imported one was
        filed elsewhere: recorded as accepted).

        The only way into `pending` besides retrying a failed filing
        (tax_agency.document_retry_submission): a document the agency holds, or is being
        given, never goes back, or beat would file its folio a second time.
        """
        if self.biller_status is not None:
            raise DomainError(
                "document_already_filed",
                f"{self.pk} is with the tax agency already ({self.biller_status}); "
                "a document is filed once.",
            )
        self.biller_status = BillerStatus.SUCCEEDED if imported else BillerStatus.PENDING


def filed_once_constraint(name: str) -> models.CheckConstraint:
    """A document waiting to be submitted has no tracking id: one that has been submitted
    cannot be put back in line (a retry clears the id of the failed submission first)."""
    return models.CheckConstraint(
        condition=~models.Q(biller_status__in=[BillerStatus.PENDING, BillerStatus.QUEUED])
        | models.Q(tax_agency_tracking_id=""),
        name=name,
    )


class Invoice(FiscalDocument):
    id = public_id_field("inv")
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True
    )
    collection_method = models.CharField(
        max_length=16, choices=CollectionMethod.choices, default=CollectionMethod.DEFERRED
    )
    due_date = models.DateField(null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    subscription_id = models.CharField(max_length=40, null=True, blank=True, db_index=True)
    imported = models.BooleanField(default=False)
    uncollectible_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # When `send` last emailed it to the customer.
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta(FiscalDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="invoice_number_unique",
            ),
            filed_once_constraint("invoice_filed_once"),
        ]
        indexes = [models.Index(fields=["workspace", "test_mode", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.document_id} {self.number or 'draft'} ({self.id})"


class Note(FiscalDocument):
    """A credit or debit note references one invoice, with a reason (CodRef)."""

    status = models.CharField(
        max_length=16, choices=NoteStatus.choices, default=NoteStatus.DRAFT, db_index=True
    )
    reason = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=90, blank=True)

    class Meta(FiscalDocument.Meta):
        abstract = True


class CreditNote(Note):
    id = public_id_field("cre")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")

    class Meta(Note.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="credit_note_number_unique",
            ),
            filed_once_constraint("credit_note_filed_once"),
        ]


class DebitNote(Note):
    id = public_id_field("deb")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="debit_notes")

    class Meta(Note.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="debit_note_number_unique",
            ),
            filed_once_constraint("debit_note_filed_once"),
        ]


class OrderStatus(models.TextChoices):
    DRAFT = "draft"
    CONFIRMED = "confirmed"
    INVOICED = "invoiced"


class Order(TenantModel):
    """What a customer ordered, priced by the server; `invoice` turns it into a draft."""

    id = public_id_field("ord")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(
        "billing.DocumentType", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT, db_index=True
    )
    coupon_id = models.CharField(max_length=40, null=True, blank=True)
    note = models.CharField(max_length=256, blank=True)
    discount = money_field()
    discount_scheme = models.CharField(
        max_length=1, choices=DiscountScheme.choices, default=DiscountScheme.PERCENT
    )
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    amount = money_field()
    exempt = money_field()
    discount_amount = money_field()
    subtotal = money_field()
    tax = money_field()
    total = money_field()
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="order"
    )
    subscription_id = models.CharField(max_length=40, null=True, blank=True)
    # The invoices the subscription of its plans issues, the order's included (its
    # `billing_cycles`); null: until cancelled.
    billing_cycle = models.PositiveIntegerField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(billing_cycle__isnull=True) | models.Q(billing_cycle__gte=1),
                name="order_billing_cycle_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class Line(models.Model):
    name = models.CharField(max_length=256)
    description = models.CharField(max_length=1000, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal(1))
    amount = money_field()  # unit price
    # The exact price of all the units when it is not amount × quantity: a plan's tiered or
    # packaged price, or a prorated plan (catalog.pricing.line_price). The total is rounded
    # from it, once; `amount` then shows the average unit price. A tiered price of six-decimal
    # amounts and quantities has twelve decimals; prorated over a period of at most 366 days
    # and kept to fifteen, it still rounds to any currency as the exact fraction would.
    gross = models.DecimalField(max_digits=33, decimal_places=15, null=True, blank=True)
    exempt = models.BooleanField(default=False)
    # A catalog tax rule named on the line: its percent (or exemption) was copied into the
    # line when it was written, so a later change to the rule changes no document. RESTRICT:
    # a rule in use cannot be deleted (409), unless its lines go in the same deletion.
    tax = models.ForeignKey(
        "catalog.Tax", on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    tax_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    discount = money_field()
    discount_scheme = models.CharField(
        max_length=1, choices=DiscountScheme.choices, default=DiscountScheme.PERCENT
    )
    code = models.CharField(max_length=35, blank=True)
    code_scheme = models.CharField(max_length=10, blank=True)
    unit_label = models.CharField(max_length=12, blank=True)
    retention_percent = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    retention_scheme = models.CharField(max_length=16, default="subtotal")
    position = models.PositiveIntegerField(default=0)
    total = money_field()
    retention = money_field()

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity}"


class InvoiceLine(Line):
    id = public_id_field("lin")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    plan_id = models.CharField(max_length=40, null=True, blank=True)


class CreditNoteLine(Line):
    id = public_id_field("lin")
    note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")


class DebitNoteLine(Line):
    id = public_id_field("lin")
    note = models.ForeignKey(DebitNote, on_delete=models.CASCADE, related_name="lines")


class OrderItem(Line):
    id = public_id_field("itm")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product_id = models.CharField(max_length=40, null=True, blank=True)
    plan_id = models.CharField(max_length=40, null=True, blank=True)
