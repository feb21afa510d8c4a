"""What every fiscal document shares (invoices, notes, orders, procurement's documents):
lines in, totals out (through billing.totals)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NotRequired, Protocol, TypedDict, TypeVar, cast

from billing.additional_taxes import additional_tax
from billing.dte_rules import check_line_count
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, FiscalDocument, Line
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, QUANTITY_LIMIT
from billing.totals import DocumentTotals, InvalidDocument, LineInput, TaxTotal, document_totals

AnyLine = TypeVar("AnyLine", bound=Line)

LINE_FIELDS = (
    "name",
    "description",
    "quantity",
    "amount",
    "gross",
    "exempt",
    "tax_id",
    "tax_percent",
    "additional_tax",
    "additional_tax_percent",
    "discount",
    "discount_scheme",
    "code",
    "code_scheme",
    "unit_label",
    "retention_percent",
    "retention_scheme",
)


# Stored amounts have AMOUNT_MAX_DIGITS digits, AMOUNT_DECIMAL_PLACES of them decimals.
_STORABLE_LIMIT = Decimal(10) ** (AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES)
_TOO_LARGE = "The amounts are too large: a total has at most 18 integer digits."
_QUANTITY_TOO_LARGE = (
    f"A quantity is too large: it has at most {QUANTITY_LIMIT.adjusted()} integer digits."
)


class NamedTax(Protocol):
    """A catalog tax rule (catalog.models.Tax) named on a line: what is read of it here, so
    the kernel does not import the catalog."""

    pk: Any
    workspace_id: str
    test_mode: bool
    country_id: str
    percent: Decimal
    exempt: bool


class LineRow(TypedDict, total=False):
    """A document line as the services take it: a line serializer's validated data, or a
    stored line's LINE_FIELDS copied to price it again."""

    name: str
    description: str
    quantity: Decimal
    amount: Decimal
    gross: Decimal | None
    exempt: bool
    tax: NamedTax | None
    tax_id: str | None
    tax_percent: Decimal | None
    additional_tax: str
    additional_tax_percent: Decimal | None
    discount: Decimal
    discount_scheme: str
    code: str
    code_scheme: str
    unit_label: str
    retention_percent: Decimal
    retention_scheme: str
    plan_id: str | None
    line_type: str


class ReferenceRow(TypedDict):
    """A referenced document (the SII's Referencia) as a document stores it."""

    document: str
    serial: str
    date: date | str
    code: NotRequired[int | str | None]
    description: NotRequired[str]


# Chile's national documents are in whole pesos (rules.md §8): a type of theirs priced in
# pesos is issued in pesos. The export types (110, 111, 112) have a foreign currency.
NATIONAL_CURRENCIES = {"CL": "CLP"}


def check_document_currency(document_type: DocumentType, currency: str, *, instead: str) -> None:
    """A document of a national type priced in the national currency is in that currency,
    whatever its counterpart's: a 400 `document_currency_mismatch` saying what to do
    `instead`."""
    national = NATIONAL_CURRENCIES.get(document_type.country_id)
    if document_type.currency_id == national and currency != national:
        raise DomainError(
            "document_currency_mismatch",
            f"{document_type} is issued in {national}, not {currency}. {instead}",
            status_code=400,
        )


def base_tax_percent(document_type: DocumentType) -> Decimal:
    return document_type.tax if document_type.has_taxes else Decimal(0)


def check_kept_lines_type(
    previous: DocumentType, document: DocumentType, *, field: str = "lines"
) -> None:
    """A draft whose lines are kept while what prices them moves from a type without taxes
    to one with taxes: a 400 on `field`. On the former every line is stored exempt
    (apply_totals), so which of them the user meant exempt is no longer known, and keeping
    them would issue the taxed type without its tax: the lines are sent again."""
    if not previous.has_taxes and document.has_taxes:
        raise InvalidInput(
            {field: [f"On {previous} every line is exempt; send the {field} again for "
                     f"{document}, saying which of them are exempt."]}
        )  # fmt: skip


def line_tax_percent(document: FiscalDocument, line: Line | dict[str, Any]) -> Decimal:
    get = line.get if isinstance(line, dict) else lambda name, default=None: getattr(line, name)
    if get("exempt", False) or not document.document.has_taxes:
        return Decimal(0)
    explicit = get("tax_percent", None)
    return document.tax_percent if explicit is None else Decimal(explicit)


# The document's columns apply_totals sets (and its lines' COMPUTED_LINE_FIELDS).
TOTAL_FIELDS = (
    "amount", "exempt", "discount_amount", "subtotal", "tax", "total", "retention",
    "total_adjusted", "additional_tax", "additional_taxes",
)  # fmt: skip


def check_due_date(document: FiscalDocument) -> None:
    """A document that has a due date (invoices, purchases) is never due before its date,
    whichever of the two its write set."""
    due_date = getattr(document, "due_date", None)
    if due_date is not None and document.date is not None and due_date < document.date:
        raise InvalidInput(
            {
                "due_date": [
                    f"The due date ({due_date}) is before the document's date ({document.date})."
                ]
            }
        )


# An export's DTE states its discounts (ValorDR, ValorDscto: Dec16_2Type) with 2 decimals,
# whatever its currency's: the totals take them so.
EXPORT_DISCOUNT_PLACES = 2


def apply_totals(document: FiscalDocument, lines: Sequence[Line | dict[str, Any]]) -> None:
    """Compute and set the document's and its lines' totals (not saved): its TOTAL_FIELDS,
    and its lines' COMPUTED_LINE_FIELDS.

    Lines are instances, or dicts of every Line column by attname (a batch writer's rows,
    billing.bulk.copy_rows): the same rules either way. Every write of a document's
    content (create, update, finalize, the admin, a cycle's batch) comes through here with
    the document as it will be saved, so its checks of the whole document run here too."""
    check_due_date(document)
    check_line_count(document, len(lines))
    exempt_document = not document.document.has_taxes
    columns = [_columns(line) for line in lines]
    inputs = _line_inputs(document, lines, columns)
    totals = _totals(document, inputs)
    grosses = [get("gross") for get in columns]
    amounts = [
        totals.total,
        totals.subtotal,
        totals.discount,
        *(t.total for t in totals.lines),
        *(gross for gross in grosses if gross is not None),
    ]
    if max(map(abs, amounts)) >= _STORABLE_LIMIT:
        raise InvalidInput({"lines": [_TOO_LARGE]})
    if inputs and max(abs(line.quantity) for line in inputs) >= QUANTITY_LIMIT:
        raise InvalidInput({"lines": [_QUANTITY_TOO_LARGE]})
    for line, line_totals in zip(lines, totals.lines, strict=True):
        computed: dict[str, Any] = {"total": line_totals.total, "retention": line_totals.retention}
        if exempt_document:
            computed["exempt"] = True
        if isinstance(line, dict):
            line.update(computed)
        else:
            for name, value in computed.items():
                setattr(line, name, value)
    document.amount = totals.amount
    document.exempt = totals.exempt
    document.discount_amount = totals.discount
    document.subtotal = totals.subtotal
    document.tax = totals.tax
    document.total = totals.total
    document.retention = totals.retention
    document.total_adjusted = totals.total_adjusted
    document.additional_tax = totals.additional_tax
    document.additional_taxes = [
        {"code": row.code, "percent": _plain(row.percent), "amount": _plain(row.amount)}
        for row in totals.additional_taxes
    ]


def document_taxes(document: FiscalDocument, lines: Sequence[Line]) -> list[TaxTotal]:
    """The tax of each rate of the document's stored lines, whose sum is its `tax`: what a
    page prints apart, as "19%" of one net and "7%" of another are two taxes."""
    columns = [_columns(line) for line in lines]
    return _totals(document, _line_inputs(document, lines, columns)).taxes


def _line_inputs(
    document: FiscalDocument,
    lines: Sequence[Line | dict[str, Any]],
    columns: Sequence[Callable[[str], Any]],
) -> list[LineInput]:
    exempt_document = not document.document.has_taxes
    return [
        LineInput(
            amount=get("amount"),
            quantity=get("quantity"),
            discount=get("discount"),
            discount_scheme=get("discount_scheme"),
            exempt=get("exempt") or exempt_document,
            tax_percent=line_tax_percent(document, line),
            retention_percent=get("retention_percent"),
            gross=get("gross"),
            additional_tax=get("additional_tax") or "",
            additional_tax_percent=get("additional_tax_percent") or Decimal(0),
        )
        for line, get in zip(lines, columns, strict=True)
    ]


def _totals(document: FiscalDocument, inputs: Sequence[LineInput]) -> DocumentTotals:
    try:
        return document_totals(
            lines=inputs,
            currency=document.currency_id,
            discount=document.discount,
            discount_scheme=document.discount_scheme,
            custom_change=document.custom_change,
            prices_include_tax=document.prices_include_tax,
            withhold_tax=document.withholds_tax,
            discount_places=EXPORT_DISCOUNT_PLACES if document.document.is_export else None,
        )
    except InvalidDocument as exc:
        raise InvalidInput({exc.field: [str(exc)]}) from exc
    except InvalidOperation as exc:  # a total beyond the decimal context's 28 digits
        raise InvalidInput({"lines": [_TOO_LARGE]}) from exc


def discount_base(lines: Sequence[Line]) -> Decimal:
    """What a document discount is taken from (billing.totals): the lines' totals, as
    apply_totals just set them. An amount discount (a coupon's) is capped at it, not at the
    subtotal, which on a document whose prices include the tax (a boleta) is net of it."""
    return sum((line.total for line in lines), Decimal(0))


def _plain(value: Decimal) -> str:
    # Stored as text, so the JSON column gives back the exact Decimal.
    return format(value.normalize(), "f")


def _columns(line: Line | dict[str, Any]) -> Callable[[str], Any]:
    if isinstance(line, dict):
        return line.__getitem__
    return lambda name: getattr(line, name)


# Columns only an invoice's lines have.
_INVOICE_LINE_ONLY = ("plan_id", "line_type")


def build_lines(
    line_model: type[AnyLine],
    parent: dict[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    replacing: Sequence[Line] = (),
) -> list[AnyLine]:
    """Unsaved lines of the document in `parent` ({"invoice": invoice}, …) from rows of
    LINE_FIELDS (and `plan_id`, `line_type`); a row's `tax`, a catalog tax rule, is
    resolved here. `replacing` are the stored lines the rows replace or copy (a note's,
    its invoice's): a row that shows one of their exact prices keeps it (kept_gross)."""
    document = next(iter(parent.values()), None)
    # A note's lines have no plan: one copied from an invoice's line shows all but it.
    by_plan = any(field.attname == "plan_id" for field in line_model._meta.concrete_fields)
    rows = kept_gross(replacing, rows, by_plan=by_plan)
    return [
        line_model(**parent, position=position, **line_columns(document, position, row))
        for position, row in enumerate(rows)
    ]


def _shown_price(line: Line | Mapping[str, Any], by_plan: bool) -> tuple[Any, Decimal, Decimal]:
    if isinstance(line, Mapping):
        plan, quantity, amount = line.get("plan_id"), line["quantity"], line["amount"]
    else:
        plan, quantity, amount = getattr(line, "plan_id", None), line.quantity, line.amount
    return (plan if by_plan else None, Decimal(quantity), Decimal(amount))


def kept_gross(
    stored: Sequence[Line], rows: Sequence[Mapping[str, Any]], *, by_plan: bool = True
) -> list[Any]:
    """The rows, each sent without a `gross` given the gross of a stored line that shows
    the same quantity and unit price (and plan, `by_plan`). A tiered price shows its
    average unit price to six decimals, which × the quantity is not the price (0.005042 ×
    999,999 = 5,041.99 of 5,041.995): a client sending a line back as it read it, with or
    without its id, or copying it onto a note, sends only what it was shown, and the line
    must keep the price it had."""
    exact: dict[tuple[Any, Decimal, Decimal], list[Decimal]] = {}
    for line in stored:
        if line.gross is not None:
            exact.setdefault(_shown_price(line, by_plan), []).append(line.gross)
    if not exact:
        return list(rows)
    kept = []
    for row in rows:
        if row.get("gross") is None and "amount" in row and "quantity" in row:
            grosses = exact.get(_shown_price(row, by_plan))
            if grosses:
                row = {**row, "gross": grosses.pop(0)}
        kept.append(row)
    return kept


def line_columns(
    document: FiscalDocument | None, position: int, row: Mapping[str, Any]
) -> dict[str, Any]:
    """The columns a row of LINE_FIELDS (and `plan_id`, `line_type`) sets on a line of
    `document`, its named tax rule and additional tax resolved."""
    columns = {k: v for k, v in row.items() if k in LINE_FIELDS or k in _INVOICE_LINE_ONLY}
    columns |= _named_tax(document, position, row)
    _check_taxed_type(document, position, columns)
    return columns | _named_additional_tax(document, position, row)


def _check_taxed_type(
    document: FiscalDocument | None, index: int, columns: Mapping[str, Any]
) -> None:
    """On a type without taxes (Chile's 34 and 41, a country without VAT's generic types)
    every line is exempt: a rate above 0 on one of its lines would be charged as 0, so it
    is a 400 on the line's `tax` (a rule) or `tax_percent`."""
    if document is None or document.document.has_taxes:
        return
    percent = columns.get("tax_percent")
    if columns.get("exempt") or percent is None or Decimal(percent) == 0:
        return
    field = "tax" if columns.get("tax_id") else "tax_percent"
    raise InvalidInput(
        {f"lines.{index}.{field}": [
            f"{document.document} is a type without taxes: its lines are exempt and bear no "
            f"{Decimal(percent).normalize():f}% tax."
        ]}
    )  # fmt: skip


def _named_additional_tax(
    document: FiscalDocument | None, index: int, row: Mapping[str, Any]
) -> dict[str, Any]:
    """The rate of the additional tax a row names by its SII code, from the table; a row
    without one has none (a rate sent alone is not taken)."""
    code = row.get("additional_tax") or ""
    if not code:
        return {"additional_tax": "", "additional_tax_percent": None}
    field = f"lines.{index}.additional_tax"
    known = additional_tax(code)
    if known is None:
        raise InvalidInput({field: [f"{code!r} is not an SII additional tax code."]})
    if document is not None and document.document.country_id != "CL":
        raise InvalidInput({field: ["Additional taxes are Chile's: this document is not."]})
    return {"additional_tax": known.code, "additional_tax_percent": known.percent}


def _named_tax(
    document: FiscalDocument | None, index: int, row: Mapping[str, Any]
) -> dict[str, Any]:
    """The columns a line's named tax rule sets: the rule, its percent, and for an
    exemption the line's `exempt`. What the row says itself must agree with the rule."""
    tax: NamedTax | None = row.get("tax")
    if tax is None:
        return {}
    field = f"lines.{index}"
    if document is None or (tax.workspace_id, tax.test_mode) != (
        document.workspace_id,
        document.test_mode,
    ):
        raise InvalidInput({f"{field}.tax": [f"No tax {tax.pk}."]})
    country = document.document.country_id
    if tax.country_id != country:
        # A rule of another country's law is no rate of this document's tax agency.
        raise InvalidInput(
            {f"{field}.tax": [f"Tax {tax.pk} is a rule of {tax.country_id}; "
                              f"{document.document} is a document of {country}."]}
        )  # fmt: skip
    errors = {}
    percent = row.get("tax_percent")
    if percent is not None and Decimal(percent) != tax.percent:
        errors[f"{field}.tax_percent"] = [
            f"Tax {tax.pk} is {tax.percent.normalize():f}%; send no tax_percent with it."
        ]
    if "exempt" in row and row["exempt"] != tax.exempt:
        errors[f"{field}.exempt"] = [
            f"Tax {tax.pk} is {'an exemption' if tax.exempt else 'not an exemption'}; "
            "send no exempt with it."
        ]
    if errors:
        raise InvalidInput(errors)
    return {"tax_id": tax.pk, "tax_percent": tax.percent, "exempt": tax.exempt}


# The columns apply_totals computes on each line.
COMPUTED_LINE_FIELDS = ["total", "retention", "exempt"]


def note_terms(note: FiscalDocument, document: FiscalDocument, *, annuls: bool) -> None:
    """A credit or debit note takes the terms of the document it refers to: its currency,
    tax rate and exchange rate (`custom_change`), so its lines are priced as the
    document's were; a note that annuls (its lines the document's, mirrored_rows) takes
    its discount too, and credits exactly what the document charged."""
    note.currency_id = document.currency_id
    note.tax_percent = document.tax_percent
    note.custom_change = document.custom_change
    if annuls:
        note.discount, note.discount_scheme = document.discount, document.discount_scheme
    else:
        note.discount = Decimal(0)


def mirrored_rows(lines: Iterable[Line]) -> list[LineRow]:
    """A document's stored lines as rows, to price them again on a note that annuls it."""
    return [cast(LineRow, {name: getattr(line, name) for name in LINE_FIELDS}) for line in lines]


def store_lines(line_model: type[Line], lines: Sequence[Line], *, replace: Any = None) -> None:
    """Write lines after apply_totals: with `replace` (the parent's related manager), they
    replace all its lines, unless they are the stored lines as they are (a retrieved
    document PUT back), which keep their ids; without, only their computed columns are
    updated."""
    if replace is not None:
        stored = list(replace.all())
        if not same_lines(line_model, stored, lines):
            replace.all().delete()
            line_model._default_manager.bulk_create(lines)
            return
        for line, kept in zip(lines, stored, strict=True):
            line.pk = kept.pk
    line_model._default_manager.bulk_update(lines, COMPUTED_LINE_FIELDS)


def same_lines(line_model: type[Line], stored: Sequence[Line], lines: Sequence[Line]) -> bool:
    """Whether `lines` say what `stored` say, column by column, in the same order (the
    computed columns aside: apply_totals has just set them)."""
    columns = [
        field.attname
        for field in line_model._meta.concrete_fields
        if not field.primary_key and field.attname not in COMPUTED_LINE_FIELDS
    ]
    return len(stored) == len(lines) and all(
        getattr(old, column) == getattr(new, column)
        for old, new in zip(stored, lines, strict=True)
        for column in columns
    )
