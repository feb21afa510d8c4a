from decimal import Decimal

import pytest

from billing.money_display import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("178464", "CLP", "$178.464"),
        ("178463.5", "CLP", "$178.464"),
        ("1888.74", "USD", "US$1,888.74"),
        ("1234567.5", "USD", "US$1,234,567.50"),
        ("38123.45", "CLF", "UF 38.123,4500"),
        ("-11900", "CLP", "-$11.900"),
        ("0", "CLP", "$0"),
        ("12.5", "JPY", "JPY 13"),
        ("1500", "EUR", "€1.500,00"),
    ],
)
def test_money_is_shown_in_its_currency_s_format(amount: str, currency: str, shown: str) -> None:
    assert format_money(Decimal(amount), currency) == shown


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("10000.500000", "CLP", "$10.000,5"),
        ("49990.000000", "CLP", "$49.990"),
        ("12.345600", "USD", "US$12.3456"),
        ("12.000000", "USD", "US$12.00"),
    ],
)
def test_a_unit_price_keeps_its_extra_decimals(amount: str, currency: str, shown: str) -> None:
    assert format_money(Decimal(amount), currency, exact=True) == shown
