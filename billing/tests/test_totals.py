from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import minor_units, round_amount
from billing.totals import AMOUNT, PERCENT, InvalidDocument, LineInput, document_totals

IVA = D(19)


def test_worked_clp_invoice_with_discounts_exempt_line_and_iva():
    lines = [
        LineInput(amount=D(10000), quantity=D(3), tax_percent=IVA),  # 30.000
        LineInput(amount=D(4990), quantity=D(1), discount=D(10), tax_percent=IVA),  # 4.491
        LineInput(amount=D(2500), quantity=D(2), exempt=True),  # 5.000
    ]

    totals = document_totals(lines=lines, currency="CLP", discount=D(5), discount_scheme=PERCENT)

    # 5% of 39.491 = 1.974,55 → 1.975, spread 1500.34 / 224.60 / 250.06 → floors
    # 1500 + 224 + 250 = 1974, the leftover peso to the largest remainder (224.60).
    assert totals.discount == D(1975)
    assert [line.net for line in totals.lines] == [D(28500), D(4266), D(4750)]
    assert totals.amount == D(32766)
    assert totals.exempt == D(4750)
    assert totals.subtotal == D(37516)
    # 19% of 32.766 = 6.225,54 → 6.226 (half-up, once on the net)
    assert totals.tax == D(6226)
    assert totals.total == D(43742)
    assert totals.total_adjusted == D(43742)


@pytest.mark.parametrize(
    ("currency", "places", "line_total", "discount"),
    [
        # KWD has 3 decimals, a discount stated with 2: 0,7777 → 0,78 and 1,9342 → 1,93.
        ("KWD", 2, D("6.997"), D("1.93")),
        # Without such a limit, the currency's own rounding: 6,9993 → 6,999; 1,9344 → 1,934.
        ("KWD", None, D("6.999"), D("1.934")),
        # A currency no finer than the limit is rounded as always.
        ("USD", 2, D("7.00"), D("1.94")),
    ],
)
def test_discounts_are_rounded_to_the_decimals_the_document_states_them_with(
    currency, places, line_total, discount
):
    lines = [
        LineInput(amount=D("12.345"), quantity=D(1), exempt=True),
        LineInput(amount=D("7.777"), quantity=D(1), discount=D(10), exempt=True),
    ]

    totals = document_totals(lines=lines, currency=currency, discount=D(10), discount_places=places)

    assert totals.lines[1].total == line_total
    assert totals.discount == discount


def test_iva_is_computed_once_on_the_net_not_per_line():
    # Per line: 19% of 13 = 2,47 → 2, twice = 4. Once on the net: 19% of 26 = 4,94 → 5.
    lines = [LineInput(amount=D(13), quantity=D(1), tax_percent=IVA)] * 2

    totals = document_totals(lines=lines, currency="CLP")

    assert totals.tax == D(5)


def test_half_peso_rounds_up():
    # 19% of 50 = 9,5 → 10 (half-even would give 10 too; 19% of 150 = 28,5 → 29, not 28)
    totals = document_totals(
        lines=[LineInput(amount=D(150), quantity=D(1), tax_percent=IVA)], currency="CLP"
    )
    assert totals.tax == D(29)


def test_a_line_with_an_exact_gross_is_rounded_from_it_once():
    # A graduated price of 5041.995 for 999 999 units shows 0.005042 a unit; the total is
    # the exact price half-up, not 0.005042 × 999 999 = 5041.994958.
    tiered = LineInput(amount=D("0.005042"), quantity=D(999999), gross=D("5041.995"))
    discounted = LineInput(
        amount=D("0.005042"), quantity=D(999999), gross=D("5041.995"), discount=D(10)
    )

    totals = document_totals(lines=[tiered, discounted], currency="USD")

    # 10% off the exact price: 4537.7955 → 4537.80.
    assert [line.total for line in totals.lines] == [D("5042.00"), D("4537.80")]


def test_a_line_total_is_exact_beyond_the_default_decimal_context():
    # 18 integer digits and 12 decimals: 30 digits, more than Python's default 28 keep.
    # Rounded to 28 digits first, .124999999999 would become .125 and then .13.
    line = LineInput(amount=D(1), quantity=D(1), gross=D("123456789012345678.124999999999"))

    totals = document_totals(lines=[line], currency="USD")

    assert totals.lines[0].total == D("123456789012345678.12")


def test_custom_change_converts_uf_lines_to_pesos_before_rounding():
    # 2,5 UF at 38.123,45 pesos = 95.308,625 → 95.309 pesos
    lines = [LineInput(amount=D("2.5"), quantity=D(1), tax_percent=IVA)]

    totals = document_totals(lines=lines, currency="CLP", custom_change=D("38123.45"))

    assert totals.amount == D(95309)
    assert totals.tax == D(18109)  # 18.108,71 → 18.109


def test_retention_is_taken_once_on_its_base_and_lowers_what_is_owed():
    # Honorarios 2026: 15,25% of 100.001 = 15.250,15 → 15.250
    lines = [LineInput(amount=D(100001), quantity=D(1), exempt=True, retention_percent=D("15.25"))]

    totals = document_totals(lines=lines, currency="CLP")

    assert totals.retention == D(15250)
    assert totals.total_adjusted == D(100001 - 15250)
    assert totals.lines[0].retention == D(15250)


def test_usd_amounts_have_cents_and_amount_discounts_apply_in_the_currency():
    lines = [
        LineInput(amount=D("19.999"), quantity=D(3), discount=D("1.5"), discount_scheme=AMOUNT)
    ]

    totals = document_totals(
        lines=lines, currency="USD", discount=D("0.01"), discount_scheme=AMOUNT
    )

    # 59.997 − 1.5 = 58.497 → 58.50; minus 0.01 → 58.49
    assert totals.lines[0].total == D("58.50")
    assert totals.subtotal == D("58.49")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (LineInput(amount=D(1), quantity=D(-1)), "lines.0.quantity"),
        (LineInput(amount=D(-1), quantity=D(1)), "lines.0.amount"),
        (
            LineInput(amount=D(10), quantity=D(1), discount=D(11), discount_scheme=AMOUNT),
            "lines.0.discount",
        ),
        (LineInput(amount=D(10), quantity=D(1), discount=D(101)), "lines.0.discount"),
        (LineInput(amount=D(10), quantity=D(1), discount=D(-1)), "lines.0.discount"),
        (LineInput(amount=D(10), quantity=D(1), discount_scheme="?"), "lines.0.discount_scheme"),
    ],
)
def test_impossible_lines_are_refused_with_the_field(line, field):
    with pytest.raises(InvalidDocument) as error:
        document_totals(lines=[line], currency="CLP")
    assert error.value.field == field


def test_custom_change_below_one_is_refused():
    with pytest.raises(InvalidDocument):
        document_totals(lines=[], currency="CLP", custom_change=D("0.5"))


amounts = st.decimals(min_value=0, max_value=10_000_000, places=6, allow_nan=False)
quantities = st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False)
rates = st.sampled_from([D(0), D(19), D("10.5"), D(21)])
lines_strategy = st.lists(
    st.builds(
        LineInput,
        amount=amounts,
        quantity=quantities,
        discount=st.decimals(min_value=0, max_value=100, places=2),
        discount_scheme=st.just(PERCENT),
        exempt=st.booleans(),
        tax_percent=rates,
        retention_percent=st.sampled_from([D(0), D("15.25"), D("14.5")]),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    lines=lines_strategy,
    currency=st.sampled_from(["CLP", "USD", "CLF", "KWD", "JPY"]),
    discount=st.decimals(min_value=0, max_value=100, places=3),
    custom_change=st.decimals(min_value=1, max_value=50_000, places=4),
)
def test_totals_equal_the_sum_of_their_parts_in_whole_minor_units(
    lines, currency, discount, custom_change
):
    totals = document_totals(
        lines=lines, currency=currency, discount=discount, custom_change=custom_change
    )

    step = D(1).scaleb(-minor_units(currency))
    for value in (
        totals.amount,
        totals.exempt,
        totals.tax,
        totals.total,
        totals.retention,
        totals.discount,
        *[line.net for line in totals.lines],
    ):
        assert value % step == 0, f"{value} is not whole in {currency}"
    assert totals.subtotal == totals.amount + totals.exempt
    assert sum((line.net for line in totals.lines), D(0)) == totals.subtotal
    assert sum((line.total for line in totals.lines), D(0)) - totals.discount == totals.subtotal
    assert totals.total == totals.subtotal + totals.tax
    assert totals.total_adjusted == totals.total - totals.retention
    assert sum((line.retention for line in totals.lines), D(0)) == totals.retention
    assert all(line.net >= 0 for line in totals.lines)
    # Tax once per rate on the net: never more than half a unit per rate away from exact.
    exact_tax = sum(
        (
            line.net * line_in.tax_percent / 100
            for line, line_in in zip(totals.lines, lines, strict=True)
            if not line_in.exempt
        ),
        D(0),
    )
    assert abs(totals.tax - exact_tax) <= step / 2 * 4


# -- Chile's boletas are priced gross; the factura de compra withholds its IVA ----------


def test_gross_prices_derive_the_net_and_the_iva_from_the_total():
    # A boleta of 1.000 + 190 IVA included: neto = round(1190 / 1,19) = 1.000, IVA 190.
    lines = [LineInput(amount=D(1190), quantity=D(1), tax_percent=IVA)]

    totals = document_totals(lines=lines, currency="CLP", prices_include_tax=True)

    assert (totals.amount, totals.tax, totals.total) == (D(1000), D(190), D(1190))


def test_gross_prices_round_the_net_half_up_and_keep_the_total():
    # 10.000 / 1,19 = 8.403,36 → 8.403; IVA = 10.000 − 8.403 = 1.597. An exempt line of
    # 500 adds to the total as it is.
    lines = [
        LineInput(amount=D(2500), quantity=D(4), tax_percent=IVA),
        LineInput(amount=D(500), quantity=D(1), exempt=True),
    ]

    totals = document_totals(lines=lines, currency="CLP", prices_include_tax=True)

    assert (totals.amount, totals.exempt, totals.tax) == (D(8403), D(500), D(1597))
    assert totals.total == D(10500)


def test_gross_prices_take_the_retention_on_the_net():
    # 10.000 IVA included: neto 8.403; 10% of it withheld, not 10% of the price.
    lines = [LineInput(amount=D(10000), quantity=D(1), tax_percent=IVA, retention_percent=D(10))]

    totals = document_totals(lines=lines, currency="CLP", prices_include_tax=True)

    assert (totals.subtotal, totals.retention, totals.total_adjusted) == (
        D(8403),
        D(840),
        D(9160),
    )
    assert totals.lines[0].retention == D(840)


@settings(max_examples=200, deadline=None)
@given(
    lines=lines_strategy,
    retention_percent=st.sampled_from([D("15.25"), D("10"), D("3.5")]),
    prices_include_tax=st.booleans(),
    discount=st.decimals(min_value=0, max_value=100, places=3),
)
def test_one_retention_rate_is_that_rate_of_the_subtotal(
    lines, retention_percent, prices_include_tax, discount
):
    """rules.md §2: retention = round(subtotal × rate / 100), whether the lines' prices
    include the tax or not."""
    lines = [replace(line, retention_percent=retention_percent) for line in lines]

    totals = document_totals(
        lines=lines, currency="CLP", discount=discount, prices_include_tax=prices_include_tax
    )

    assert totals.retention == round_amount(totals.subtotal * retention_percent / 100, "CLP")
    assert sum((line.retention for line in totals.lines), D(0)) == totals.retention


def test_withholding_the_tax_retains_all_of_it():
    lines = [
        LineInput(amount=D(1000), quantity=D(3), tax_percent=IVA),
        LineInput(amount=D(333), quantity=D(1), tax_percent=IVA),
        LineInput(amount=D(100), quantity=D(1), exempt=True),
    ]

    totals = document_totals(lines=lines, currency="CLP", withhold_tax=True)

    # IVA = 19% of 3.333 = 633,27 → 633, all withheld: the seller is paid neto + exempt.
    assert (totals.tax, totals.retention) == (D(633), D(633))
    assert totals.total_adjusted == D(3433)
    assert [line.retention for line in totals.lines] == [D(570), D(63), D(0)]


# -- Chile's additional taxes: per code on the net, apart from IVA ---------------------


def test_additional_taxes_are_totalled_per_code_apart_from_iva():
    pisco = LineInput(
        amount=D(9990), quantity=D(3), tax_percent=IVA, additional_tax="24",
        additional_tax_percent=D("31.5"),
    )  # fmt: skip
    wine = LineInput(
        amount=D(4590), quantity=D(1), tax_percent=IVA, additional_tax="25",
        additional_tax_percent=D("20.5"),
    )  # fmt: skip
    beer = LineInput(
        amount=D(1290), quantity=D(7), tax_percent=IVA, additional_tax="26",
        additional_tax_percent=D("20.5"),
    )  # fmt: skip
    water = LineInput(amount=D(990), quantity=D(2), tax_percent=IVA)

    totals = document_totals(lines=[pisco, wine, beer, water], currency="CLP")

    # Net 29.970 + 4.590 + 9.030 + 1.980 = 45.570; IVA 19% = 8.658,3 → 8.658.
    assert (totals.amount, totals.tax) == (D(45570), D(8658))
    # 31,5% of 29.970 = 9.440,55 → 9.441; 25 and 26 share a rate but not a code:
    # 20,5% of 4.590 = 940,95 → 941 and of 9.030 = 1.851,15 → 1.851.
    assert [(row.code, row.percent, row.amount) for row in totals.additional_taxes] == [
        ("24", D("31.5"), D(9441)),
        ("25", D("20.5"), D(941)),
        ("26", D("20.5"), D(1851)),
    ]
    assert totals.additional_tax == D(12233)
    assert totals.total == D(45570) + D(8658) + D(12233)


def test_an_additional_tax_is_computed_once_per_code_on_the_net_after_the_discount():
    soda = LineInput(
        amount=D(1005), quantity=D(1), tax_percent=IVA, additional_tax="27",
        additional_tax_percent=D(10),
    )  # fmt: skip

    plain = document_totals(lines=[soda, soda], currency="CLP")
    discounted = document_totals(lines=[soda, soda], currency="CLP", discount=D(10))

    # Per line 10% of 1.005 = 100,5 → 101, twice = 202; once on the code's net: 201.
    assert [row.amount for row in plain.additional_taxes] == [D(201)]
    # After the 10% document discount the net is 1.809: 180,9 → 181, IVA 343,71 → 344.
    assert discounted.amount == D(1809)
    assert [row.amount for row in discounted.additional_taxes] == [D(181)]
    assert discounted.total == D(1809) + D(344) + D(181)


@pytest.mark.parametrize(
    ("line", "options"),
    [
        (LineInput(amount=D(100), quantity=D(1), exempt=True, additional_tax="27"), {}),
        (
            LineInput(amount=D(100), quantity=D(1), additional_tax="27"),
            {"prices_include_tax": True},
        ),
        (LineInput(amount=D(100), quantity=D(1), additional_tax="27"), {"withhold_tax": True}),
    ],
    ids=["exempt line", "boleta", "factura de compra"],
)
def test_an_additional_tax_where_none_can_be_is_refused(line, options):
    with pytest.raises(InvalidDocument) as refused:
        document_totals(lines=[line], currency="CLP", **options)

    assert refused.value.field == "lines.0.additional_tax"
