"""The fiscal document base that invoices, notes and procurement's documents share: the
columns of a document (totals, tax agency filing, PDF) and of its lines.

Totals are computed by billing.documents (through billing.totals) on every draft write and
frozen at finalize. The apps subclass these with their own ids, statuses and parent keys
(procurement replaces the customer with the supplier).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone

from billing.choices import BillerStatus, DiscountScheme
from billing.dte_rules import check_dte_receiver, receiver_may_be_anonymous
from billing.encoders import JSONDecoder, JSONEncoder
from billing.errors import DomainError
from billing.json_fields import ListJSONField, ObjectJSONField
from billing.models.base import TenantModel, money_field, quantity_field


def counterpart_record(party: Any) -> dict[str, Any]:
    """What a document shows of its other party (a customer or a supplier): the columns of
    its own row, related reference data by key (billing.counterparts reads it back)."""
    return {
        "name": party.name,
        "tax_id": party.tax_id,
        "country": party.country_id,
        "state": party.state_id,
        "comuna": party.comuna_id,
        "address": party.address,
        "email": party.email,
        # Chile's giro (GiroRecep), as customers keep it.
        "activity": (party.tax_settings or {}).get("cl_activity_description", ""),
    }


class FiscalDocument(TenantModel):
    # The foreign key naming the other party: a sale's customer, a purchase's supplier.
    counterpart_field = "customer"

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
    references = ListJSONField(
        api_field="invoices.representations.InvoiceSerializer.references", blank=True
    )
    biller_status = models.CharField(
        max_length=16, choices=BillerStatus.choices, null=True, blank=True
    )
    tax_agency = ObjectJSONField()
    # The agency's tracking id for the submission, and when the next submit/poll is due.
    tax_agency_tracking_id = models.CharField(max_length=64, blank=True)
    biller_attempts = models.PositiveIntegerField(default=0)
    biller_next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set while the sweep's submit/poll message is on the broker (billing/sweeps.py).
    biller_enqueued_at = models.DateTimeField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    # The other party as it was when the document was finalized (counterpart_record): what
    # the DTE, the timbre and the PDF show from then on, whatever its record says later.
    # Empty on a draft, which follows the live record (billing.counterparts).
    counterpart_snapshot = ObjectJSONField()
    # Rendered once after finalize and never again: the PDF a customer received.
    pdf = models.FileField(upload_to="documents/%Y/%m/", blank=True)
    # Set while the sweep's render message is on the broker (billing/sweeps.py).
    pdf_enqueued_at = models.DateTimeField(null=True, blank=True)
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
    # Chile's additional taxes, apart from `tax` and included in `total`: their sum, and per
    # SII code [{"code": "24", "percent": "31.5", "amount": "3150"}] (billing.totals).
    additional_tax = money_field()
    additional_taxes = models.JSONField(
        encoder=JSONEncoder, decoder=JSONDecoder, default=list, blank=True
    )

    class Meta(TenantModel.Meta):
        abstract = True

    @property
    def prices_include_tax(self) -> bool:
        """Whether line prices include the tax (Chile's boletas): totals then derive the
        net from the gross."""
        return self.document.prices_include_tax

    @property
    def withholds_tax(self) -> bool:
        """Whether the buyer withholds the whole tax (Chile's factura de compra, code 15):
        totals add it to the retention, and the DTE's MntTotal leaves it out."""
        return self.document.hold_taxes and self.document.has_taxes

    @property
    def receiver_may_be_anonymous(self) -> bool:
        """Whether the DTE may name the SII's anonymous buyer (a boleta's, or its note's)."""
        return self.document.country_id == "CL" and receiver_may_be_anonymous(
            self.document.code, self.corrected_document_types
        )

    @property
    def corrected_document_types(self) -> tuple[str, ...]:
        """The types of the documents this one corrects: none but a note's invoice."""
        return ()

    def __str__(self) -> str:
        # As the document reads on paper: "Factura electrónica N° 1"; a draft has no number.
        name = self.document.name
        return f"{name} N° {self.number}" if self.number else f"{name} (draft {self.pk})"

    def mark_finalized(self, now: datetime, *, imported: bool = False) -> None:
        """What finalizing does to the document itself, whichever service finalizes it: its
        time, its counterpart frozen as it now reads (a finalized document is immutable,
        its customer's later edits included), and its place in line for the tax agency."""
        counterpart = counterpart_record(getattr(self, self.counterpart_field))
        # An imported document's DTE was issued elsewhere, with what it named.
        if not imported:
            self.check_dated_by(now)
            check_dte_receiver(self, counterpart)
        self.finalized_at = now
        self.counterpart_snapshot = counterpart
        self.queue_for_tax_agency(imported=imported)

    def check_dated_by(self, now: datetime) -> None:
        """The tax agency refuses a document dated after the day it receives it (the SII's
        FchEmis): refused here, before the document takes a folio it would burn."""
        today = timezone.localdate(now, ZoneInfo(self.workspace.timezone))
        if self.date > today:
            raise DomainError(
                "document_dated_in_future",
                f"{self.document.name} {self.pk} is dated {self.date}, after today ({today}) "
                "in the workspace: the tax agency refuses a document dated in the future. "
                "Date it today or earlier, or finalize it on its date.",
                status_code=400,
            )

    def queue_for_tax_agency(self, *, imported: bool = False) -> None:
        """Put a document being finalized in line for the tax agency (an imported one was
        filed elsewhere: recorded as accepted).

        The only way into `pending` besides retrying a failed filing
        (invoices.services.filing.document_retry_submission): a document the agency holds,
        or is being given, never goes back, or beat would file its folio a second time.
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


class Line(models.Model):
    name = models.CharField(max_length=256)
    description = models.CharField(max_length=1000, blank=True)
    quantity = quantity_field(default=Decimal(1))
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
    # An additional tax by its SII code (billing.additional_taxes), its rate copied when the
    # line was written.
    additional_tax = models.CharField(max_length=3, blank=True)
    additional_tax_percent = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True
    )
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
        return f"{self.name} × {self.quantity.normalize():f}"
