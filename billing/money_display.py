"""Money as a person reads it: the currency's own symbol and separators, e.g. `$178.464`
for Chilean pesos and `US$1,888.74` for dollars. For pages and the admin, never the API
(which sends plain amounts)."""

from decimal import Decimal

from billing.money import round_amount

# Symbol, thousands separator and decimal separator, as the currency's home market
# writes them. Chile writes pesos and UF with dots for thousands.
_STYLES = {
    "CLP": ("$", ".", ","),
    "CLF": ("UF ", ".", ","),
    "USD": ("US$", ",", "."),
    "EUR": ("€", ".", ","),
    "GBP": ("£", ",", "."),
    "MXN": ("MX$", ",", "."),
    "ARS": ("AR$", ".", ","),
    "PEN": ("S/ ", ",", "."),
    "COP": ("COL$", ".", ","),
    "BRL": ("R$", ".", ","),
}


def format_money(amount: Decimal, currency: str, *, exact: bool = False) -> str:
    """The amount rounded to the currency, with its symbol and separators. `exact` keeps
    the decimals beyond the currency's a unit price may carry (`$10.000,5`)."""
    rounded = round_amount(amount, currency)
    if exact and rounded != amount:
        rounded = Decimal(amount).normalize()
    symbol, thousands, decimal = _STYLES.get(currency.upper(), (f"{currency.upper()} ", ",", "."))
    digits = f"{abs(rounded):,}"  # "1,888.74" in Python's own separators
    digits = digits.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return f"{'-' if rounded < 0 else ''}{symbol}{digits}"
