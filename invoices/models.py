"""Fiscal documents: invoices, credit notes and debit notes, with their lines.

Totals are computed by billing.totals on every draft write and frozen at finalize.
"""

from decimal import Decimal

from django.db import models

from billing.choices import DiscountScheme
from billing.ids import public_id_field
from billing.models import FiscalDocument, Line, TenantModel, filed_once_constraint, money_field
from invoices.choices import (
    CollectionMethod,
    InvoiceStatus,
    LineType,
    NoteStatus,
    StripeInvoiceSync,
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
    # The branch (sucursal) the invoice is issued from.
    orgunit = models.ForeignKey(
        "organization.OrgUnit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Its copy in Stripe when the workspace syncs invoices (payments.services.stripe_invoices):
    # the Stripe invoice's id, the status Stripe last gave it, and its pages.
    stripe_id = models.CharField(max_length=255, blank=True)
    stripe_status = models.CharField(max_length=16, blank=True)
    stripe_sync_status = models.CharField(
        max_length=16, choices=StripeInvoiceSync.choices, default=StripeInvoiceSync.NOT_SYNCED
    )
    stripe_synced_at = models.DateTimeField(null=True, blank=True)
    stripe_sync_error = models.CharField(max_length=256, blank=True)
    stripe_hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    stripe_invoice_pdf = models.URLField(max_length=1000, blank=True)

    class Meta(FiscalDocument.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="invoice_number_unique",
            ),
            filed_once_constraint("invoice_filed_once"),
            # One Stripe invoice is the copy of one invoice of ours, never of two.
            models.UniqueConstraint(
                fields=["stripe_id"],
                condition=~models.Q(stripe_id=""),
                name="invoice_stripe_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "test_mode", "-created_at"])]


class Note(FiscalDocument):
    """A credit or debit note references one invoice, with a reason (CodRef)."""

    status = models.CharField(
        max_length=16, choices=NoteStatus.choices, default=NoteStatus.DRAFT, db_index=True
    )
    reason = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=90, blank=True)

    class Meta(FiscalDocument.Meta):
        abstract = True

    invoice: "models.ForeignKey[Invoice, Invoice]"

    @property
    def prices_include_tax(self) -> bool:
        # A note is priced in its invoice's terms: a boleta's note is gross as the boleta.
        return self.invoice.document.prices_include_tax

    @property
    def corrected_document_types(self) -> tuple[str, ...]:
        return (self.invoice.document.code,)


class CreditNote(Note):
    id = public_id_field("cre")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    # The Stripe credit note made on the invoice's Stripe copy, if any.
    stripe_id = models.CharField(max_length=255, blank=True)

    class Meta(Note.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document", "number"],
                condition=models.Q(number__isnull=False),
                name="credit_note_number_unique",
            ),
            filed_once_constraint("credit_note_filed_once"),
            models.UniqueConstraint(
                fields=["stripe_id"],
                condition=~models.Q(stripe_id=""),
                name="credit_note_stripe_id_unique",
            ),
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
    # The branch (sucursal) it is sold from: its invoice and the subscription of its plans
    # are issued from it.
    orgunit = models.ForeignKey(
        "organization.OrgUnit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The invoices the subscription of its plans issues, the order's included (its
    # `billing_cycles`); null: until cancelled.
    billing_cycle = models.PositiveIntegerField(null=True, blank=True)
    # Piriod's order fields: its date, and where and how it is delivered (printed on it).
    date = models.DateField(null=True, blank=True)
    address = models.CharField(max_length=256, blank=True)
    state = models.CharField(max_length=64, blank=True)
    carrier_id = models.CharField(max_length=32, blank=True)
    carrier_name = models.CharField(max_length=128, blank=True)
    licence_plate = models.CharField(max_length=16, blank=True)
    shipping_type = models.CharField(max_length=16, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(billing_cycle__isnull=True) | models.Q(billing_cycle__gte=1),
                name="order_billing_cycle_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class InvoiceLine(Line):
    id = public_id_field("lin")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    plan_id = models.CharField(max_length=40, null=True, blank=True)
    line_type = models.CharField(max_length=8, choices=LineType.choices, default=LineType.FIXED)


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
