"""Where our documents meet the SII's DTE schemas (DTE_v10.xsd; EnvioBOLETA_v11.xsd for
boletas): which root element a type uses, how a currency is named, which receiver stands
for buyers without a RUT.
"""

from decimal import ROUND_HALF_UP, Decimal

SII_NAMESPACE = "http://www.sii.cl/SiiDte"
ENCODING = "ISO-8859-1"

# The types DTE_v10.xsd describes that we issue: facturas, notes, factura de compra under
# <Documento>; the export types under <Exportaciones>.
DOCUMENT_TYPES = {"33", "34", "46", "56", "61"}
EXPORT_TYPES = {"110", "111", "112"}
# The boletas, under the SII's boleta schema (invoices/dte/boleta.py).
BOLETA_TYPES = {"39", "41"}
# A boleta's IndServicio: 3, sales and services (1 and 2 are utilities' periodic bills,
# 4 shows sold for third parties).
SALES_AND_SERVICES = 3

# The SII's receiver RUT for a foreign buyer (exports) and for an anonymous one.
FOREIGN_BUYER_RUT = "55555555-5"
ANONYMOUS_BUYER_RUT = "66666666-6"

# ImptoReten/TipoImp 15: IVA retenido total, the buyer withholds all the IVA (rules.md §8).
TOTAL_IVA_RETENTION = "15"

# Customs' currency names (TipMonType); a currency not listed is OTRAS MONEDAS.
CURRENCY_NAMES = {
    "CLP": "PESO CL",
    "USD": "DOLAR USA",
    "EUR": "EURO",
    "GBP": "LIBRA EST",
    "CAD": "DOLAR CAN",
    "AUD": "DOLAR AUST",
    "NZD": "DOLAR NZ",
    "HKD": "DOLAR HK",
    "SGD": "DOLAR SIN",
    "CHF": "FRANCO SZ",
    "MXN": "PESO MEX",
    "COP": "PESO COL",
    "PEN": "NUEVO SOL",
    "BOB": "BOLIVIANO",
    "PYG": "GUARANI",
    "AED": "DIRHAM",
}
OTHER_CURRENCY = "OTRAS MONEDAS"

# Lengths the schema allows.
MAX_NAME = {
    "RznSoc": 100,
    "GiroEmis": 80,
    "Sucursal": 20,
    "Dir": 70,
    "Cmna": 20,
    "Ciudad": 20,
    "NmbItem": 80,
}
MAX_ITEM_DESCRIPTION = 1000
MAX_REFERENCE_REASON = 90
MAX_UNIT = 4
MAX_EMAIL = 80
MAX_REFERENCES = 40
# An item's quantity and unit price (QtyItem, PrcItem: Dec12_6Type).
MAX_ITEM_NUMBER = Decimal("999999999999.999999")


def root_tag(code: str) -> str:
    return "Exportaciones" if code in EXPORT_TYPES else "Documento"


def currency_name(currency: str) -> str:
    return CURRENCY_NAMES.get(currency, OTHER_CURRENCY)


def pesos(value: Decimal) -> str:
    """A whole-peso amount (MontoType), as every amount of a DTE in pesos."""
    return str(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def decimal_text(value: Decimal, places: int) -> str:
    """A decimal with at most `places` decimals and no exponent."""
    text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
