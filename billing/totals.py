"""Document totals (rules.md §2), shared by invoices, notes, orders and purchases.

Pure functions over Decimals: no database, no clock. The order of operations is the
contract:

1. line gross = amount × custom_change × quantity, or, for a line that carries its exact
   gross (a plan's tiered or packaged price, a prorated plan: catalog.pricing), that
   gross × custom_change; its discount (% of gross, or an amount in the line's unit,
   also × custom_change); line total = round(gross − discount), the one rounding. A
   document whose discounts are stated with fewer decimals than its currency has (an
   export's DTE states them with 2, a KWD amount has 3) rounds each discount to those
   decimals first, so that what it states is what it took.
2. The document discount (% of the subtotal, or an amount) is spread over the lines in
   proportion to their totals, without losing a unit (money.allocate).
3. Taxable lines add to `amount`, exempt lines to `exempt`; subtotal = amount + exempt.
4. Tax is computed once per rate on the taxable net, never per line (so IVA is exactly
   19% of the net, half-up), and summed. When prices include the tax (Chile's boletas),
   the lines add up to the gross instead, and per rate neto = round(gross / (1 + rate)),
   tax = gross − neto, so the document's total is what its lines say.
5. Additional taxes (Chile's impuestos adicionales) are computed like the tax, once per
   code on the net of the lines that bear it, and totalled apart from it:
   total = subtotal + tax + additional tax.
6. Retention is computed once per rate on its base (the lines' net; without the tax when
   prices include it, so one rate's retention is that rate of the subtotal), then
   total_adjusted = total − retention. A document that withholds its own tax (Chile's
   factura de compra) adds the whole tax to the retention.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from billing.money import allocate, minor_units, round_amount

PERCENT = "%"
AMOUNT = "$"
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Digits that hold any product of stored amounts, quantities and rates without rounding.
_EXACT_DIGITS = 200


class InvalidDocument(ValueError):
    """Lines or discounts that cannot make a document; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LineInput:
    amount: Decimal  # unit price, up to 6 decimals, in the line's pricing unit
    quantity: Decimal
    discount: Decimal = ZERO
    discount_scheme: str = PERCENT
    exempt: bool = False
    tax_percent: Decimal = ZERO  # ignored for exempt lines
    retention_percent: Decimal = ZERO
    # The exact price of all the units when it is not amount × quantity (a tiered price).
    gross: Decimal | None = None
    # An additional tax's code and rate (billing.additional_taxes); "" for none.
    additional_tax: str = ""
    additional_tax_percent: Decimal = ZERO


@dataclass(frozen=True)
class LineTotals:
    total: Decimal  # after the line's own discount, before the document discount
    net: Decimal  # after its share of the document discount
    retention: Decimal  # this line's share of the document retention


@dataclass(frozen=True)
class TaxTotal:
    percent: Decimal
    amount: Decimal


@dataclass(frozen=True)
class AdditionalTaxTotal:
    code: str
    percent: Decimal
    amount: Decimal


@dataclass(frozen=True)
class DocumentTotals:
    lines: list[LineTotals]
    discount: Decimal  # the document discount as an amount
    amount: Decimal  # taxable net
    exempt: Decimal
    subtotal: Decimal
    tax: Decimal
    # Per rate, in the order the lines name them; their sum is `tax`.
    taxes: list[TaxTotal]
    total: Decimal
    retention: Decimal
    total_adjusted: Decimal
    # Per code, in the order the lines name them; their sum is `additional_tax`.
    additional_taxes: list[AdditionalTaxTotal]
    additional_tax: Decimal


def _stated_discount(discount: Decimal, currency: str, places: int | None) -> Decimal:
    """The discount as the document can state it: half-up to `places` decimals when the
    currency has more, else as it is (the currency's own rounding follows)."""
    if places is None or minor_units(currency) <= places:
        return discount
    return discount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _line_total(
    line: LineInput, custom_change: Decimal, currency: str, index: int, discount_places: int | None
) -> Decimal:
    if line.quantity < 0:
        raise InvalidDocument(f"lines.{index}.quantity", "Quantity cannot be negative.")
    if line.amount < 0:
        raise InvalidDocument(f"lines.{index}.amount", "Unit price cannot be negative.")
    # Checked here, not only by the API's serializer, so that a line stored by any path
    # (the admin, a batch) cannot be finalized with a negative or impossible rate.
    for name in ("tax_percent", "retention_percent"):
        if not ZERO <= getattr(line, name) <= HUNDRED:
            raise InvalidDocument(f"lines.{index}.{name}", f"{name} is between 0 and 100.")
    with localcontext() as exact:
        exact.prec = _EXACT_DIGITS
        units = line.amount * line.quantity if line.gross is None else line.gross
        gross = units * custom_change
        discount = _discount(
            line.discount, line.discount_scheme, gross, custom_change, f"lines.{index}."
        )
        if discount > gross:
            raise InvalidDocument(f"lines.{index}.discount", "The discount exceeds the line.")
        net = gross - _stated_discount(discount, currency, discount_places)
    return round_amount(net, currency)


def _discount(
    value: Decimal, scheme: str, base: Decimal, unit_factor: Decimal, where: str = ""
) -> Decimal:
    """The discount on `base`; `where` prefixes the field a refusal names (a line's)."""
    if value < 0:
        raise InvalidDocument(f"{where}discount", "A discount cannot be negative.")
    if scheme == PERCENT:
        if value > HUNDRED:
            raise InvalidDocument(f"{where}discount", "A percentage discount is at most 100.")
        return base * value / HUNDRED
    if scheme == AMOUNT:
        return value * unit_factor
    raise InvalidDocument(f"{where}discount_scheme", f"Unknown discount scheme {scheme!r}.")


def _by_rate(values: Sequence[tuple[Decimal, Decimal]], currency: str) -> Decimal:
    """Σ over rates of round(Σ base × rate / 100): one rounding per rate."""
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    for base, rate in values:
        if rate:
            bases[rate] += base
    return sum(
        (round_amount(base * rate / HUNDRED, currency) for rate, base in bases.items()), ZERO
    )


def _taxes(
    values: Sequence[tuple[Decimal, Decimal]], currency: str, prices_include_tax: bool
) -> list[TaxTotal]:
    """The tax of each rate on Σ of its lines' nets: round(Σ net × rate / 100), or, when
    the nets include the tax, Σ gross − round(Σ gross / (1 + rate / 100))."""
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    for base, rate in values:
        if rate:
            bases[rate] += base
    if prices_include_tax:
        return [
            TaxTotal(rate, gross - round_amount(gross * HUNDRED / (HUNDRED + rate), currency))
            for rate, gross in bases.items()
        ]
    return [
        TaxTotal(rate, round_amount(base * rate / HUNDRED, currency))
        for rate, base in bases.items()
    ]


def _additional_taxes(
    nets: Sequence[Decimal], lines: Sequence[LineInput], currency: str
) -> list[AdditionalTaxTotal]:
    """round(Σ net × rate / 100) for each code: one rounding per code, as for IVA."""
    bases: dict[tuple[str, Decimal], Decimal] = {}
    for net, line in zip(nets, lines, strict=True):
        if line.additional_tax:
            key = (line.additional_tax, line.additional_tax_percent)
            bases[key] = bases.get(key, ZERO) + net
    return [
        AdditionalTaxTotal(code, percent, round_amount(base * percent / HUNDRED, currency))
        for (code, percent), base in bases.items()
    ]


def _check_additional_taxes(
    lines: Sequence[LineInput], prices_include_tax: bool, withhold_tax: bool
) -> None:
    for index, line in enumerate(lines):
        if not line.additional_tax:
            continue
        field = f"lines.{index}.additional_tax"
        if line.exempt:
            raise InvalidDocument(field, "An exempt line bears no additional tax.")
        # A boleta's gross price would have to include it, and the SII's boleta has no
        # place for it; a factura de compra withholds a tax of its own.
        if prices_include_tax or withhold_tax:
            raise InvalidDocument(field, "This document type bears no additional taxes.")
        if line.additional_tax_percent < 0:
            raise InvalidDocument(field, "An additional tax's rate cannot be negative.")


def document_totals(
    *,
    lines: Sequence[LineInput],
    currency: str,
    discount: Decimal = ZERO,
    discount_scheme: str = PERCENT,
    custom_change: Decimal = Decimal(1),
    prices_include_tax: bool = False,
    withhold_tax: bool = False,
    discount_places: int | None = None,
) -> DocumentTotals:
    if custom_change < 1:
        raise InvalidDocument("custom_change", "custom_change is at least 1.")
    _check_additional_taxes(lines, prices_include_tax, withhold_tax)
    line_totals = [
        _line_total(line, custom_change, currency, i, discount_places)
        for i, line in enumerate(lines)
    ]
    gross_subtotal = sum(line_totals, ZERO)

    # A document-level amount discount is already in the document's currency.
    document_discount = _stated_discount(
        _discount(discount, discount_scheme, gross_subtotal, Decimal(1)), currency, discount_places
    )
    document_discount = round_amount(document_discount, currency)
    if document_discount > gross_subtotal:
        raise InvalidDocument("discount", "The discount exceeds the document.")
    shares = allocate(document_discount, line_totals, currency) if lines else []
    nets = [total - share for total, share in zip(line_totals, shares, strict=True)]

    taxable = sum((net for net, line in zip(nets, lines, strict=True) if not line.exempt), ZERO)
    exempt = sum((net for net, line in zip(nets, lines, strict=True) if line.exempt), ZERO)
    taxed = [
        (net, line.tax_percent) for net, line in zip(nets, lines, strict=True) if not line.exempt
    ]
    taxes = _taxes(taxed, currency, prices_include_tax)
    tax = sum((row.amount for row in taxes), ZERO)
    amount = taxable - tax if prices_include_tax else taxable
    subtotal = amount + exempt
    additional_taxes = _additional_taxes(nets, lines, currency)
    additional_tax = sum((row.amount for row in additional_taxes), ZERO)
    total = subtotal + tax + additional_tax
    bases = _bases_without_tax(nets, lines, currency) if prices_include_tax else nets
    retention = _by_rate(
        [(base, line.retention_percent) for base, line in zip(bases, lines, strict=True)], currency
    )
    if withhold_tax:
        retention += tax
    line_retentions = _line_retentions(bases, lines, retention, currency, withhold_tax)
    return DocumentTotals(
        lines=[
            LineTotals(total=t, net=n, retention=r)
            for t, n, r in zip(line_totals, nets, line_retentions, strict=True)
        ],
        discount=document_discount,
        amount=amount,
        exempt=exempt,
        subtotal=subtotal,
        tax=tax,
        taxes=taxes,
        total=total,
        retention=retention,
        total_adjusted=total - retention,
        additional_taxes=additional_taxes,
        additional_tax=additional_tax,
    )


def _bases_without_tax(
    nets: list[Decimal], lines: Sequence[LineInput], currency: str
) -> list[Decimal]:
    """Each line's net without the tax its price includes: per rate, the neto the tax was
    taken from, spread over that rate's lines in proportion to their nets, so the bases add
    up to the subtotal exactly."""
    bases = list(nets)
    by_rate: dict[Decimal, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        if not line.exempt and line.tax_percent:
            by_rate[line.tax_percent].append(index)
    for rate, indexes in by_rate.items():
        gross = [nets[i] for i in indexes]
        if not any(gross):
            continue
        neto = round_amount(sum(gross, ZERO) * HUNDRED / (HUNDRED + rate), currency)
        for i, base in zip(indexes, allocate(neto, gross, currency), strict=True):
            bases[i] = base
    return bases


def _line_retentions(
    nets: list[Decimal],
    lines: Sequence[LineInput],
    retention: Decimal,
    currency: str,
    withhold_tax: bool,
) -> list[Decimal]:
    # Each line shows its part of the document's retention; the parts add up exactly.
    def withheld_percent(line: LineInput) -> Decimal:
        taxed = withhold_tax and not line.exempt
        return line.retention_percent + (line.tax_percent if taxed else ZERO)

    weights = [net * withheld_percent(line) for net, line in zip(nets, lines, strict=True)]
    if not any(weights):
        return [ZERO for _ in lines]
    return allocate(retention, weights, currency)
