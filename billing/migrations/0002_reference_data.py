"""Seed reference data: currencies, countries, Chile's regions and document types.

The data lives here, frozen with the migration, so the history replays the same way
whatever the code looks like later.
"""

from django.db import migrations

CURRENCIES = [
    ("ARS", "Argentine peso", 2), ("BOB", "Boliviano", 2), ("BRL", "Brazilian real", 2),
    ("CAD", "Canadian dollar", 2), ("CLF", "Unidad de fomento (UF)", 4),
    ("CLP", "Chilean peso", 0), ("CNY", "Renminbi", 2), ("COP", "Colombian peso", 2),
    ("EUR", "Euro", 2), ("GBP", "Pound sterling", 2), ("JPY", "Japanese yen", 0),
    ("KWD", "Kuwaiti dinar", 3), ("MXN", "Mexican peso", 2), ("PEN", "Peruvian sol", 2),
    ("PYG", "Paraguayan guaraní", 0), ("USD", "US dollar", 2), ("UYU", "Uruguayan peso", 2),
]

# code, name, currency, tax regulation, tax id name, timezone, base VAT percent
COUNTRIES = [
    ("CL", "Chile", "CLP", True, "RUT", "America/Santiago", "19"),
    ("AR", "Argentina", "ARS", True, "CUIT", "UTC", "21"),
    ("BO", "Bolivia", "BOB", False, "NIT", "UTC", "13"),
    ("BR", "Brazil", "BRL", False, "CNPJ", "UTC", "0"),
    ("CA", "Canada", "CAD", False, "BN", "UTC", "0"),
    ("CN", "China", "CNY", False, "USCC", "UTC", "13"),
    ("CO", "Colombia", "COP", True, "NIT", "UTC", "19"),
    ("DE", "Germany", "EUR", False, "USt-IdNr", "UTC", "19"),
    ("EC", "Ecuador", "USD", True, "RUC", "UTC", "15"),
    ("ES", "Spain", "EUR", True, "NIF", "UTC", "21"),
    ("FR", "France", "EUR", False, "TVA", "UTC", "20"),
    ("GB", "United Kingdom", "GBP", False, "VAT", "UTC", "20"),
    ("IT", "Italy", "EUR", False, "P.IVA", "UTC", "22"),
    ("JP", "Japan", "JPY", False, "T-number", "UTC", "10"),
    ("KW", "Kuwait", "KWD", False, "TIN", "UTC", "0"),
    ("MX", "Mexico", "MXN", True, "RFC", "UTC", "16"),
    ("PE", "Peru", "PEN", True, "RUC", "UTC", "18"),
    ("PT", "Portugal", "EUR", False, "NIF", "UTC", "23"),
    ("PY", "Paraguay", "PYG", False, "RUC", "UTC", "10"),
    ("US", "United States", "USD", False, "EIN", "UTC", "0"),
    ("UY", "Uruguay", "UYU", True, "RUT", "UTC", "22"),
]

CHILE_REGIONS = [
    ("CL-AP", "Arica y Parinacota"), ("CL-TA", "Tarapacá"), ("CL-AN", "Antofagasta"),
    ("CL-AT", "Atacama"), ("CL-CO", "Coquimbo"), ("CL-VS", "Valparaíso"),
    ("CL-RM", "Región Metropolitana de Santiago"), ("CL-LI", "Libertador General Bernardo O'Higgins"),
    ("CL-ML", "Maule"), ("CL-NB", "Ñuble"), ("CL-BI", "Biobío"), ("CL-AR", "La Araucanía"),
    ("CL-LR", "Los Ríos"), ("CL-LL", "Los Lagos"), ("CL-AI", "Aysén del General Carlos Ibáñez del Campo"),
    ("CL-MA", "Magallanes y de la Antártica Chilena"),
]

SALE, PURCHASE, ORDER, CREDIT, DEBIT, HOLD, PAPER = (
    "sale", "purchase", "order", "credit", "debit", "hold", "paper",
)

# id, SII code, name, currency, tax percent (None = no taxes), flags
CHILE_DOCUMENTS = [
    (33, "33", "Factura electrónica", "CLP", "19", {SALE, PURCHASE}),
    (34, "34", "Factura no afecta o exenta electrónica", "CLP", None, {SALE, PURCHASE}),
    (39, "39", "Boleta electrónica", "CLP", "19", {SALE}),
    (41, "41", "Boleta no afecta o exenta electrónica", "CLP", None, {SALE}),
    (43, "43", "Liquidación-factura electrónica", "CLP", "19", {SALE}),
    (46, "46", "Factura de compra electrónica", "CLP", "19", {PURCHASE, HOLD}),
    (52, "52", "Guía de despacho electrónica", "CLP", "19", {SALE}),
    (56, "56", "Nota de débito electrónica", "CLP", "19", {SALE, PURCHASE, DEBIT}),
    (61, "61", "Nota de crédito electrónica", "CLP", "19", {SALE, PURCHASE, CREDIT}),
    (110, "110", "Factura de exportación electrónica", "USD", None, {SALE}),
    (111, "111", "Nota de débito de exportación electrónica", "USD", None, {SALE, DEBIT}),
    (112, "112", "Nota de crédito de exportación electrónica", "USD", None, {SALE, CREDIT}),
    (
        900, "BTE", "Boleta de prestación de servicios de terceros electrónica", "CLP", None,
        {PURCHASE, HOLD},
    ),
    (801, "801", "Orden de compra", "CLP", "19", {ORDER, PAPER}),
    (802, "802", "Nota de pedido", "CLP", "19", {ORDER, PAPER}),
    # Paper documents, named by references to older documents.
    (30, "30", "Factura", "CLP", "19", {PAPER}),
    (32, "32", "Factura de venta bienes y servicios no afectos o exentos de IVA", "CLP", None, {PAPER}),
    (35, "35", "Boleta", "CLP", "19", {PAPER}),
    (38, "38", "Boleta exenta", "CLP", None, {PAPER}),
    (40, "40", "Liquidación factura", "CLP", "19", {PAPER}),
    (45, "45", "Factura de compra", "CLP", "19", {PAPER}),
    (50, "50", "Guía de despacho", "CLP", "19", {PAPER}),
    (55, "55", "Nota de débito", "CLP", "19", {PAPER}),
    (60, "60", "Nota de crédito", "CLP", "19", {PAPER}),
]

GENERIC_DOCUMENTS = [
    ("INV", "Invoice", {SALE, PURCHASE}),
    ("CN", "Credit note", {SALE, PURCHASE, CREDIT}),
    ("DN", "Debit note", {SALE, PURCHASE, DEBIT}),
    ("REC", "Receipt", {SALE}),
]


def _document(apps, id, code, name, country, currency, tax, flags):
    document_type = apps.get_model("billing", "DocumentType")
    document_type.objects.update_or_create(
        id=id,
        defaults={
            "code": code,
            "name": name,
            "country_id": country,
            "currency_id": currency,
            "tax": tax or "0",
            "has_taxes": tax is not None,
            "hold_taxes": HOLD in flags,
            "is_sale": SALE in flags,
            "is_purchase": PURCHASE in flags,
            "is_order": ORDER in flags,
            "is_credit_note": CREDIT in flags,
            "is_debit_note": DEBIT in flags,
            "is_electronic": PAPER not in flags,
        },
    )


def seed(apps, schema_editor):
    currency = apps.get_model("billing", "Currency")
    country = apps.get_model("billing", "Country")
    state = apps.get_model("billing", "State")
    for code, name, minor_units in CURRENCIES:
        currency.objects.update_or_create(
            code=code, defaults={"name": name, "minor_units": minor_units}
        )
    for code, name, curr, regulated, tax_id_name, tz, _vat in COUNTRIES:
        country.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "currency_id": curr,
                "has_tax_regulation": regulated,
                "tax_id_name": tax_id_name,
                "default_timezone": tz,
            },
        )
    for code, name in CHILE_REGIONS:
        state.objects.update_or_create(code=code, defaults={"name": name, "country_id": "CL"})
    for id, code, name, curr, tax, flags in CHILE_DOCUMENTS:
        _document(apps, id, code, name, "CL", curr, tax, flags)
    generic_countries = [c for c in COUNTRIES if c[0] != "CL"]
    for index, (country_code, _n, curr, _r, _t, _tz, vat) in enumerate(generic_countries):
        for offset, (code, name, flags) in enumerate(GENERIC_DOCUMENTS):
            tax = None if vat == "0" else vat
            _document(
                apps, 1000 + index * 10 + offset, code, name, country_code, curr, tax, flags
            )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
