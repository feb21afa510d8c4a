"""Reference data, addressed by natural keys. Seeded by migrations."""

from django.db import models


class Currency(models.Model):
    code = models.CharField(primary_key=True, max_length=3)
    name = models.CharField(max_length=64)
    minor_units = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"

    def __str__(self) -> str:
        return self.code


class Country(models.Model):
    code = models.CharField(primary_key=True, max_length=2)
    name = models.CharField(max_length=64)
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    # Countries whose customers must carry a validated tax id when billed locally.
    has_tax_regulation = models.BooleanField(default=False)
    tax_id_name = models.CharField(max_length=16, blank=True)
    default_timezone = models.CharField(max_length=64, default="UTC")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return self.code


class State(models.Model):
    """A region of a country. `code` is its ISO 3166-2 code (CL-RM, US-CA); `number` is
    the integer id Piriod's clients send for it (api.md §2 Reference data): the ISO
    3166-1 numeric code of the country × 1000 + the country's own number for the region
    (Chile's region number, a US state's FIPS code), so ids never change as states are
    added."""

    code = models.CharField(primary_key=True, max_length=8)
    number = models.PositiveIntegerField(unique=True)
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="states")
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["country", "name"]

    def __str__(self) -> str:
        return self.name


class Comuna(models.Model):
    """A Chilean comuna, by its Código Único Territorial (13101 Santiago). The SII's
    documents name the issuer's and the receiver's (CmnaOrigen, CmnaRecep)."""

    code = models.CharField(primary_key=True, max_length=5)
    name = models.CharField(max_length=40)
    region = models.ForeignKey(State, on_delete=models.PROTECT, related_name="comunas")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DocumentType(models.Model):
    """A fiscal document type, e.g. Chile's 33 (factura electrónica)."""

    id = models.PositiveIntegerField(primary_key=True)
    code = models.CharField(max_length=8)
    name = models.CharField(max_length=100)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="document_types")
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, related_name="+")
    tax = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    has_taxes = models.BooleanField(default=True)
    hold_taxes = models.BooleanField(default=False)
    is_sale = models.BooleanField(default=False)
    is_purchase = models.BooleanField(default=False)
    is_order = models.BooleanField(default=False)
    is_credit_note = models.BooleanField(default=False)
    is_debit_note = models.BooleanField(default=False)
    is_electronic = models.BooleanField(default=True)
    # Priced gross, the tax included (Chile's boletas): totals derive the net from the total.
    prices_include_tax = models.BooleanField(default=False)
    # For foreign buyers only, in the sale's currency (Chile's 110, 111, 112).
    is_export = models.BooleanField(default=False)

    class Meta:
        ordering = ["country", "id"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="document_type_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_invoice_type(self) -> bool:
        """A type invoices are issued in: a sale that is not a note or an order."""
        return self.is_sale and not (self.is_credit_note or self.is_debit_note or self.is_order)
