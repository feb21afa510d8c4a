import calendar
from datetime import date

from django.db import models

from billing.ids import public_id_field
from billing.models.base import TenantModel

# rules.md §8: the SII authorizes a CAF's folios for six months from its date (FA).
CAF_VALID_MONTHS = 6


def caf_last_valid_date(authorized_on: date) -> date:
    """The last day a CAF's folios may be used. A term of months counted from a date ends
    on the day of the same number, or on the last day of a month that has none (Código
    Civil, art. 48): authorized on 31 August, usable through 28 February."""
    month_index = authorized_on.month - 1 + CAF_VALID_MONTHS
    year, month = authorized_on.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(authorized_on.day, calendar.monthrange(year, month)[1]))


class FolioRange(TenantModel):
    """A range of folios the SII authorized for one document type (a CAF, Código de
    Autorización de Folios), loaded from the XML it issues.

    The CAF's private key signs each document's timbre; it is kept encrypted with the
    server's key (billing.services.folios) and never leaves the server.
    """

    id = public_id_field("caf")
    document_type = models.ForeignKey(
        "billing.DocumentType", on_delete=models.PROTECT, related_name="+"
    )
    first = models.PositiveBigIntegerField()
    last = models.PositiveBigIntegerField()
    authorized_on = models.DateField()
    # The <CAF> element as the SII signed it: printed into every timbre (TED).
    caf = models.TextField()
    private_key = models.TextField()  # Fernet token of the PEM key
    # The fewest folios left that raised the low-folios warning; null until it does.
    warned_at_remaining = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first__lte=models.F("last")), name="folio_range_ordered"
            ),
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document_type", "first"],
                name="folio_range_unique",
            ),
        ]
        ordering = ["document_type", "first"]

    def __str__(self) -> str:
        return f"{self.document_type_id} {self.first}–{self.last}"

    @property
    def valid_until(self) -> date:
        """The last day (on the workspace's clock) its folios may be used."""
        return caf_last_valid_date(self.authorized_on)
