"""A batch prices its invoices once per shape (invoices.services.batch_pricing): on random
lines and terms, every invoice priced alike gets what pricing it alone gives it, the
per-invoice path's lines and apply_totals, value for value and digit for digit."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.documents import TOTAL_FIELDS, apply_totals, build_lines
from billing.errors import InvalidInput
from billing.models import DocumentType
from billing.tests.factories import WorkspaceFactory
from invoices.models import Invoice, InvoiceLine
from invoices.services.batch_pricing import LINE_COLUMNS, BatchPricing
from invoices.services.batch_snapshots import line_snapshot, totals_snapshot

pytestmark = pytest.mark.django_db

# Decimals of any exponent: `1` and `1.00` are the same price but not the same text.
_decimal = st.builds(
    lambda value, places: value.quantize(Decimal(1).scaleb(-places)),
    st.decimals(min_value=0, max_value=5_000_000, places=3),
    st.integers(min_value=0, max_value=6),
)
_row = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Plan Pro", "Plan Pro (usage)", "Soporte"]),
        "description": st.sampled_from(["", "2026-02-15 – 2026-03-14"]),
        "quantity": _decimal,
        "amount": _decimal,
    },
    optional={
        "gross": st.none() | _decimal,
        "exempt": st.booleans(),
        "discount": st.decimals(min_value=0, max_value=100, places=2),
        "discount_scheme": st.sampled_from(["%", "$"]),
        "additional_tax": st.sampled_from(["", "27"]),
        "plan_id": st.none() | st.just("pln_X"),
        "line_type": st.sampled_from(["fixed", "usage"]),
        "code": st.just("SKU-1"),
        "unit_label": st.just("mes"),
    },
)
_terms = st.fixed_dictionaries(
    {
        "document_id": st.sampled_from([33, 34, 39, 46]),
        "currency_id": st.sampled_from(["CLP", "USD"]),
        "custom_change": st.sampled_from([Decimal(1), Decimal("1.000000"), Decimal("950.5")]),
        "discount": st.decimals(min_value=0, max_value=30, places=2),
        "discount_scheme": st.sampled_from(["%", "$"]),
    }
)


def _exact(value: Any) -> Any:
    """Values compared digit for digit: a Decimal by its text as well as its value."""
    if isinstance(value, Decimal):
        return (value, str(value))
    if isinstance(value, dict):
        return {name: _exact(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_exact(item) for item in value]
    return value


def _invoice(workspace: Any, terms: dict[str, Any], documents: dict[int, DocumentType]) -> Invoice:
    document = documents[terms["document_id"]]
    tax_percent = document.tax if document.has_taxes else Decimal(0)
    return Invoice(
        workspace=workspace, test_mode=True, tax_percent=tax_percent,
        **{**terms, "document": document},
    )  # fmt: skip


def _alone(invoice: Invoice, rows: list[dict[str, Any]]) -> list[InvoiceLine]:
    lines = build_lines(InvoiceLine, {"invoice": invoice}, rows)
    apply_totals(invoice, lines)
    return lines


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    shapes=st.lists(
        st.tuples(_terms, st.lists(_row, min_size=1, max_size=4)), min_size=1, max_size=3
    ),
    order=st.lists(st.integers(min_value=0, max_value=2), min_size=2, max_size=8),
)
def test_invoices_priced_alike_get_what_each_gets_alone(
    shapes: list[tuple[dict[str, Any], list[dict[str, Any]]]], order: list[int]
) -> None:
    workspace = WorkspaceFactory()
    documents = DocumentType.objects.in_bulk([33, 34, 39, 46])
    pricing = BatchPricing()
    for number, index in enumerate(order):
        terms, rows = shapes[index % len(shapes)]
        alone = _invoice(workspace, terms, documents)
        try:
            lines = _alone(alone, rows)
        except InvalidInput:
            with pytest.raises(InvalidInput):
                pricing.price(_invoice(workspace, terms, documents), rows)
            continue
        batched = _invoice(workspace, terms, documents)
        ids = [f"lin_{number}_{position}" for position in range(len(rows))]

        priced = pricing.price(batched, rows)

        totals = {name: getattr(batched, name) for name in TOTAL_FIELDS}
        assert _exact(totals) == _exact({name: getattr(alone, name) for name in TOTAL_FIELDS})
        for line, line_id in zip(lines, ids, strict=True):
            line.id = line_id
        expected = [[getattr(line, column) for column in LINE_COLUMNS] for line in lines]
        assert _exact(priced.line_rows(alone.pk, ids)) == _exact(expected)
        assert _exact(priced.snapshot_lines(ids)) == _exact([line_snapshot(x) for x in lines])
        assert _exact(priced.totals_snapshot) == _exact(totals_snapshot(alone))


def test_values_equal_but_written_differently_are_priced_apart() -> None:
    workspace = WorkspaceFactory()
    documents = DocumentType.objects.in_bulk([33])
    terms = {"document_id": 33, "currency_id": "CLP", "custom_change": Decimal(1),
             "discount": Decimal(0), "discount_scheme": "%"}  # fmt: skip
    row = {"name": "Plan", "description": "", "amount": Decimal(1000)}
    pricing = BatchPricing()
    first = pricing.price(_invoice(workspace, terms, documents), [{**row, "quantity": Decimal(2)}])
    second = pricing.price(
        _invoice(workspace, terms, documents), [{**row, "quantity": Decimal("2.000")}]
    )

    quantity = LINE_COLUMNS.index("quantity")
    assert str(first.lines[0][quantity]) == "2"
    assert str(second.lines[0][quantity]) == "2.000"


def test_an_invoice_keeps_its_own_additional_taxes() -> None:
    workspace = WorkspaceFactory()
    documents = DocumentType.objects.in_bulk([33])
    terms = {"document_id": 33, "currency_id": "CLP", "custom_change": Decimal(1),
             "discount": Decimal(0), "discount_scheme": "%"}  # fmt: skip
    rows = [{"name": "Vino", "description": "", "amount": Decimal(1000),
             "quantity": Decimal(1), "additional_tax": "27"}]  # fmt: skip
    pricing = BatchPricing()
    first, second = _invoice(workspace, terms, documents), _invoice(workspace, terms, documents)
    pricing.price(first, rows)
    pricing.price(second, rows)

    assert first.additional_taxes == second.additional_taxes != []
    assert first.additional_taxes is not second.additional_taxes
    assert first.additional_taxes[0] is not second.additional_taxes[0]
