from decimal import Decimal

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from billing.money import round_amount
from billing.totals import LineInput, document_totals
from catalog.pricing import Tier, line_price, price_plan, tiers_errors

D = Decimal

# Stripe's tiered-pricing example: 1-5 at 7, 6-10 at 6.5, 11 and up at 6.
FONTS = [Tier(5, D(7)), Tier(10, D("6.5")), Tier(None, D(6))]
# Flat fees: 1-10 at 1 per unit plus 100, 11 and up at 0.5 per unit plus 50.
WITH_FEES = [Tier(10, D(1), D(100)), Tier(None, D("0.5"), D(50))]


def graduated(quantity, tiers=FONTS):
    return price_plan(amount=D(0), quantity=D(quantity), tiers=tiers, tiers_mode="range")


def volume(quantity, tiers=FONTS):
    return price_plan(amount=D(0), quantity=D(quantity), tiers=tiers, tiers_mode="unit")


def packaged(quantity, amount, package_size):
    return price_plan(amount=D(amount), quantity=D(quantity), package_size=package_size)


def flat(quantity, amount):
    return price_plan(amount=D(amount), quantity=D(quantity))


# Worked examples


@pytest.mark.parametrize(
    ("quantity", "amount", "total"),
    [
        ("0", "10000", "0"),
        ("3", "10000", "30000"),  # 3 × 10000
        ("1.5", "19990", "29985"),  # 1.5 × 19990
        ("3", "0.333333", "0.999999"),  # 3 × 0.333333, not rounded
        ("0.000001", "0.000001", "0.000000000001"),  # exact below the stored precision
    ],
)
def test_flat_is_amount_times_quantity(quantity, amount, total):
    assert flat(quantity, amount) == D(total)


def test_flat_is_exact_where_the_default_context_would_round():
    # 24 digits × 24 digits = 48 significant digits; Python's default context keeps 28.
    amount, quantity = D("999999999999999999.999999"), D("999999999999999999.999999")
    exact = D(f"{999999999999999999999999**2}E-12")  # the constructor never rounds

    assert flat(quantity, amount) == exact


@pytest.mark.parametrize(
    ("quantity", "total"),
    [
        ("0", "0"),  # no units, no package
        ("1", "1000"),  # ceil(1/10) = 1 package × 1000
        ("10", "1000"),  # exactly one package
        ("11", "2000"),  # ceil(11/10) = 2
        ("20", "2000"),  # exactly two
        ("20.000001", "3000"),  # any part of a unit opens a package
    ],
)
def test_package_rounds_up_to_whole_packages(quantity, total):
    assert packaged(quantity, "1000", 10) == D(total)


@pytest.mark.parametrize(
    ("quantity", "total"),
    [
        ("0", "0"),  # no tier holds a unit
        ("1", "7"),  # 1 × 7
        ("5", "35"),  # 5 × 7: the whole first tier, its boundary
        ("6", "41.5"),  # 35 + 1 × 6.5
        ("5.5", "38.25"),  # 35 + 0.5 × 6.5
        ("10", "67.5"),  # 35 + 5 × 6.5: the second tier's boundary
        ("11", "73.5"),  # 67.5 + 1 × 6
        ("20", "127.5"),  # 67.5 + 10 × 6
    ],
)
def test_graduated_prices_each_unit_at_its_own_tier(quantity, total):
    assert graduated(quantity) == D(total)


@pytest.mark.parametrize(
    ("quantity", "total"),
    [
        ("0", "0"),  # nothing to price: no tier's flat amount either
        ("1", "7"),  # 1 × 7
        ("5", "35"),  # 5 × 7: 5 is still the first tier
        ("5.5", "35.75"),  # 5.5 × 6.5: past 5, all at the second tier
        ("6", "39"),  # 6 × 6.5 (less per unit than 5 fonts: the volume discount)
        ("10", "65"),  # 10 × 6.5
        ("11", "66"),  # 11 × 6
    ],
)
def test_volume_prices_all_units_at_the_tier_reached(quantity, total):
    assert volume(quantity) == D(total)


@pytest.mark.parametrize(
    ("quantity", "graduated_total", "volume_total"),
    [
        ("0", "0", "0"),  # Stripe charges no empty tier: no flat amount at 0 units
        ("1", "101", "101"),  # 1 × 1 + 100 both ways
        ("10", "110", "110"),  # 10 × 1 + 100 both ways
        ("11", "160.5", "55.5"),  # 110 + (1 × 0.5 + 50) | 11 × 0.5 + 50
        ("20", "165", "60"),  # 110 + (10 × 0.5 + 50) | 20 × 0.5 + 50
    ],
)
def test_flat_amounts_count_once_per_tier_touched(quantity, graduated_total, volume_total):
    assert graduated(quantity, WITH_FEES) == D(graduated_total)
    assert volume(quantity, WITH_FEES) == D(volume_total)


def test_tiered_plans_ignore_the_plan_amount():
    assert price_plan(amount=D(999), quantity=D(2), tiers=FONTS, tiers_mode="range") == D(14)


# Refusals


@pytest.mark.parametrize("quantity", ["-1", "-0.000001", "NaN", "Infinity"])
def test_a_negative_or_non_finite_quantity_is_a_value_error(quantity):
    with pytest.raises(ValueError, match="quantity"):
        flat(quantity, "1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tiers": FONTS, "tiers_mode": "range", "package_size": 10},
        {"tiers": FONTS, "tiers_mode": None},
        {"tiers": [], "tiers_mode": "unit"},
        {"tiers": [Tier(10, D(1))], "tiers_mode": "unit"},
        {"tiers": FONTS, "tiers_mode": "stairs"},
        {"package_size": 0},
    ],
    ids=["tiers_and_package", "tiers_without_mode", "no_tiers", "bounded_last", "mode", "size"],
)
def test_an_impossible_plan_is_a_value_error(kwargs):
    with pytest.raises(ValueError):
        price_plan(amount=D(1), quantity=D(1), **kwargs)


@pytest.mark.parametrize(
    ("tiers", "errors"),
    [
        (FONTS, []),
        ([Tier(None, D(1))], []),
        ([], ["At least one tier is required."]),
        (
            [Tier(None, D(1)), Tier(None, D(1))],
            ["Only the last tier may have no up_to."],
        ),
        (
            [Tier(5, D(1)), Tier(10, D(1))],
            ["The last tier must have up_to null: it prices every unit above."],
        ),
        (
            [Tier(5, D(1)), Tier(5, D(1)), Tier(None, D(1))],
            ["up_to must increase from one tier to the next."],
        ),
        (
            [Tier(10, D(1)), Tier(5, D(1)), Tier(None, D(1))],
            ["up_to must increase from one tier to the next."],
        ),
        ([Tier(0, D(1)), Tier(None, D(1))], ["up_to must be at least 1."]),
        ([Tier(None, D(-1))], ["Tier amounts cannot be negative."]),
    ],
)
def test_tiers_errors(tiers, errors):
    assert tiers_errors(tiers) == errors


# Properties

amounts = st.decimals(min_value=0, max_value=10_000, places=6)
quantities = st.decimals(min_value=0, max_value=2_000, places=6)


@st.composite
def tier_lists(draw):
    bounds = sorted(draw(st.sets(st.integers(1, 1_000), max_size=5)))
    prices = st.builds(lambda a, f: (a, f), amounts, amounts)
    return [Tier(bound, *draw(prices)) for bound in [*bounds, None]]


@given(tiers=tier_lists(), low=quantities, high=quantities)
def test_graduated_never_decreases_as_quantity_grows(tiers, low, high):
    low, high = sorted((low, high))

    assert graduated(low, tiers) <= graduated(high, tiers)


@given(amount=amounts, fee=amounts, quantity=quantities)
def test_a_single_tier_is_flat_pricing_plus_its_fee(amount, fee, quantity):
    one_tier = [Tier(None, amount, fee)]
    expected = flat(quantity, amount) + (fee if quantity > 0 else 0)

    assert volume(quantity, one_tier) == expected
    assert graduated(quantity, one_tier) == expected


@given(unit=amounts, size=st.integers(1, 1_000), quantity=quantities)
def test_packages_cost_at_least_the_units_they_hold(unit, size, quantity):
    # A package of `size` units priced at `size` × the unit price.
    package = packaged(quantity, unit * size, size)

    assert package >= flat(quantity, unit)
    if quantity % size == 0:
        assert package == flat(quantity, unit)


@given(unit=amounts, quantity=st.integers(0, 10_000))
def test_packages_of_one_are_flat_pricing_for_whole_units(unit, quantity):
    assert packaged(quantity, unit, 1) == flat(quantity, unit)


@given(amount=amounts, first=quantities, second=quantities)
def test_flat_is_additive(amount, first, second):
    assert flat(first + second, amount) == flat(first, amount) + flat(second, amount)


@given(tiers=tier_lists(), quantity=quantities)
def test_volume_and_graduated_agree_within_the_first_tier(tiers, quantity):
    first = tiers[0]
    assume(first.up_to is None or quantity <= first.up_to)

    assert volume(quantity, tiers) == graduated(quantity, tiers)


# A plan's price on a document line: the exact price, rounded once

# Issue 13's graduated plan: 1-1000 at 0.01 plus 10.00, 1001-10000 at 0.008, then 0.005.
ISSUE_TIERS = [Tier(1000, D("0.01"), D(10)), Tier(10000, D("0.008")), Tier(None, D("0.005"))]


def line_total(price, quantity, currency):
    """The total of a one-line document priced by `price` (price_plan's arguments)."""
    line = line_price(quantity=quantity, **price)
    totals = document_totals(
        lines=[LineInput(amount=line.amount, quantity=quantity, gross=line.gross)],
        currency=currency,
    )
    return totals.lines[0].total


def test_a_graduated_line_is_its_tier_sum_rounded_once():
    price = {"amount": D(0), "tiers": ISSUE_TIERS, "tiers_mode": "range"}

    # 1000 × 0.01 + 10 + 9000 × 0.008 + 989 999 × 0.005 = 5041.995, half-up 5042.00; the
    # six-decimal average 0.005042 × 999 999 would be 5041.994958, a cent short.
    assert line_price(quantity=D(999999), **price).amount == D("0.005042")
    assert line_total(price, D(999999), "USD") == D("5042.00")


@st.composite
def plan_prices(draw):
    """price_plan's arguments for a flat, packaged, graduated or volume plan."""
    scheme = draw(st.sampled_from(["flat", "package", "range", "unit"]))
    amount = draw(amounts)
    if scheme == "flat":
        return {"amount": amount}
    if scheme == "package":
        return {"amount": amount, "package_size": draw(st.integers(1, 10_000))}
    bounds = sorted(draw(st.sets(st.integers(1, 1_000_000), max_size=4)))
    prices = st.tuples(amounts, st.one_of(st.just(D(0)), amounts))
    tiers = [Tier(bound, *draw(prices)) for bound in [*bounds, None]]
    return {"amount": amount, "tiers": tiers, "tiers_mode": scheme}


line_quantities = st.one_of(
    st.integers(0, 10_000_000).map(D), st.decimals(min_value=0, max_value=100_000, places=6)
)


@settings(max_examples=300, deadline=None)
@given(
    price=plan_prices(), quantity=line_quantities, currency=st.sampled_from(["CLP", "USD", "CLF"])
)
@example(
    price={"amount": D(0), "tiers": ISSUE_TIERS, "tiers_mode": "range"},
    quantity=D(999999),
    currency="USD",
)
def test_a_plan_line_total_is_the_exact_price_rounded_half_up_once(price, quantity, currency):
    exact = price_plan(quantity=quantity, **price)

    assert line_total(price, quantity, currency) == round_amount(exact, currency)
