"""Exact money. Every rounding of an amount to a currency goes through this module.

Amounts are `Decimal`; unit prices and quantities may carry up to six decimals, totals are
rounded to the currency's minor unit (ISO 4217) half-up, as Chilean law and most
invoicing rules require. Python's default rounding is half-even, so it is never relied on.
"""

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

# ISO 4217 minor units that are not 2. Anything not listed has two decimals.
_MINOR_UNITS = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}

# Stored amounts: 18 integer digits and 6 decimals cover any currency and unit price.
AMOUNT_MAX_DIGITS = 24
AMOUNT_DECIMAL_PLACES = 6
# Stored quantities: six decimals, like unit prices, and 24 integer digits: the most units
# whose price at the smallest unit price (0.000001) can still be a storable total. Usage
# needs them: a month of bytes or tokens passes 10^12 (and a sum of 64-bit event values
# 10^19) long before its price does.
QUANTITY_MAX_DIGITS = 30
QUANTITY_DECIMAL_PLACES = 6
QUANTITY_LIMIT = Decimal(10) ** (QUANTITY_MAX_DIGITS - QUANTITY_DECIMAL_PLACES)


class CurrencyMismatch(ValueError):
    pass


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def add(amounts: Sequence[tuple[Decimal, str]]) -> tuple[Decimal, str]:
    """Sum amounts that must share one currency."""
    if not amounts:
        raise ValueError("nothing to add")
    currencies = {currency for _, currency in amounts}
    if len(currencies) != 1:
        raise CurrencyMismatch(f"cannot add amounts in {sorted(currencies)}")
    currency = currencies.pop()
    return sum((amount for amount, _ in amounts), Decimal(0)), currency


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` over parts in proportion to `weights` without losing a minor unit.

    Each share is rounded down, then the leftover units go one by one to the parts with
    the largest remainders (ties to the earlier part), so the shares always add up.
    """
    total = round_amount(total, currency)
    if not weights:
        return []
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    step = quantum(currency)
    exact = [total * weight / weight_sum for weight in weights]
    shares = [share.quantize(step, rounding=ROUND_DOWN) for share in exact]
    leftover_units = int((total - sum(shares, Decimal(0))) / step)
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (-(exact[i] - shares[i]) * (1 if total >= 0 else -1), i)
    )
    sign = 1 if leftover_units >= 0 else -1
    for i in by_remainder[: abs(leftover_units)]:
        shares[i] += step * sign
    return shares
