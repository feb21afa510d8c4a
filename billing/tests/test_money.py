from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing.money import CurrencyMismatch, add, allocate, minor_units, quantum, round_amount

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("0.5", "CLP", "1"),
        ("2.5", "CLP", "3"),
        ("1.4999", "CLP", "1"),
        ("-0.5", "CLP", "-1"),
        ("19000.50", "clp", "19001"),
        ("2.675", "USD", "2.68"),
        ("0.005", "USD", "0.01"),
        ("0.0049", "USD", "0.00"),
        ("1.23455", "CLF", "1.2346"),
        ("37000.12344", "CLF", "37000.1234"),
        ("1.0005", "KWD", "1.001"),
        ("2.5", "JPY", "3"),
        ("1.005", "XYZ", "1.01"),
    ],
)
def test_round_amount_is_half_up_to_the_minor_unit(amount, currency, rounded):
    result = round_amount(D(amount), currency)

    assert result == D(rounded)
    assert result.as_tuple().exponent == -minor_units(currency)


@pytest.mark.parametrize(
    ("currency", "units"), [("CLP", 0), ("USD", 2), ("EUR", 2), ("CLF", 4), ("KWD", 3)]
)
def test_minor_units(currency, units):
    assert minor_units(currency) == units


def test_add_refuses_mixed_currencies():
    assert add([(D("1.10"), "USD"), (D("2.20"), "USD")]) == (D("3.30"), "USD")
    with pytest.raises(CurrencyMismatch):
        add([(D(1), "USD"), (D(1), "CLP")])


@pytest.mark.parametrize(
    ("total", "weights", "currency", "shares"),
    [
        ("100", [1, 1, 1], "CLP", ["34", "33", "33"]),
        ("0.05", [1, 1], "USD", ["0.03", "0.02"]),
        ("10", [0, 0], "CLP", ["5", "5"]),
        ("-100", [1, 1, 1], "CLP", ["-34", "-33", "-33"]),
        ("1000", [1, 2, 7], "CLP", ["100", "200", "700"]),
        ("1", [], "USD", []),
    ],
)
def test_allocate_examples(total, weights, currency, shares):
    assert allocate(D(total), [D(w) for w in weights], currency) == [D(s) for s in shares]


CURRENCIES = st.sampled_from(["CLP", "USD", "EUR", "CLF", "KWD", "JPY"])
AMOUNTS = st.decimals(
    min_value=-(10**12), max_value=10**12, places=6, allow_nan=False, allow_infinity=False
)
WEIGHTS = st.lists(
    st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=25,
)


@given(total=AMOUNTS, weights=WEIGHTS, currency=CURRENCIES)
@example(total=D("0.01"), weights=[D(1)] * 3, currency="USD")
@example(total=D("1"), weights=[D("0.000001"), D(10**6)], currency="CLP")
def test_allocate_never_loses_a_unit(total, weights, currency):
    shares = allocate(total, weights, currency)

    rounded_total = round_amount(total, currency)
    step = quantum(currency)
    weight_sum = sum(weights, D(0))
    exact = [
        rounded_total * (w / weight_sum if weight_sum else D(1) / len(weights)) for w in weights
    ]
    assert len(shares) == len(weights)
    assert sum(shares, D(0)) == rounded_total
    assert all(share == round_amount(share, currency) for share in shares)
    assert all(abs(share - e) < step for share, e in zip(shares, exact, strict=True))
