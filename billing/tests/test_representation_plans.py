"""A representation plan shows an object exactly as its serializer's `.data` does, for the
attribute lookups DRF treats specially, and keeps nothing of one request for the next."""

import datetime
import decimal
import zoneinfo
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils import timezone
from rest_framework import serializers

from billing.representation_plans import (
    ZonedDateTime,
    current_zone,
    kept_plan,
    planned_list,
    planned_representation,
)


class LineShape(serializers.Serializer):
    name = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)


class DocumentShape(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()  # a method on the object: DRF calls it
    optional = serializers.CharField(required=False)  # missing: left out
    nullable = serializers.CharField(allow_null=True)  # missing: null
    defaulted = serializers.CharField(default="none")  # missing: its default
    related = serializers.CharField(allow_null=True)  # raises DoesNotExist: null
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    lines = LineShape(many=True)
    first = LineShape()
    note = serializers.SerializerMethodField()
    password = serializers.CharField(write_only=True)

    def get_note(self, document: Any) -> str:
        pk = document["id"] if isinstance(document, dict) else document.id
        return f"{self.context.get('who', '-')} reads {pk}"


class Document:
    def __init__(self, pk: str) -> None:
        self.id = pk
        self.amount = Decimal("12.5")
        self.lines = [
            SimpleNamespace(name="a", amount=Decimal(1)),
            SimpleNamespace(name="b", amount=Decimal("2.345")),
        ]
        self.first = self.lines[0]
        self.password = "secret"

    def label(self) -> str:
        return f"Document {self.id}"

    @property
    def related(self) -> object:
        raise ObjectDoesNotExist


@pytest.mark.parametrize("instance", [Document("doc_1"), {"id": "doc_2", "label": "x",
    "nullable": None, "related": None, "amount": Decimal(3), "lines": [],
    "first": {"name": "c", "amount": Decimal(4)}}], ids=["object", "mapping"])  # fmt: skip
def test_a_plan_shows_what_the_serializer_shows(instance):
    context = {"who": "ana"}

    planned = planned_representation(DocumentShape, instance, context)

    assert planned == dict(DocumentShape(instance, context=context).data)
    assert "password" not in planned


def test_a_missing_required_attribute_is_drfs_error():
    class Bare:
        id = "doc_3"

    with pytest.raises(AttributeError) as drf:
        DocumentShape(Bare()).data  # noqa: B018
    with pytest.raises(AttributeError) as planned:
        planned_representation(DocumentShape, Bare(), {})

    assert str(planned.value) == str(drf.value)


def test_each_read_sees_its_own_context_and_object():
    first = planned_representation(DocumentShape, Document("doc_4"), {"who": "ana"})
    second = planned_representation(DocumentShape, Document("doc_5"), {})

    assert first["note"] == "ana reads doc_4"
    assert second["note"] == "- reads doc_5"


class AmountShape(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    text = serializers.DecimalField(max_digits=10, decimal_places=1, coerce_to_string=True)
    normalized = serializers.DecimalField(max_digits=10, decimal_places=3, normalize_output=True)


def _shown(data: dict[str, Any]) -> dict[str, tuple[type, str]]:
    return {name: (type(value), str(value)) for name, value in data.items()}


@pytest.mark.parametrize(
    "values",
    [
        # Equal values with other exponents, after one another.
        ["1.5", "1.50", "1.500", "1.5"],
        # Zero keeps its sign where DRF shows it.
        ["0", "-0", "-0.00", "0.00"],
        # Rounded once, then the rounded value itself.
        ["2.345", "2.35", "2.355", "-2.345"],
        ["NaN", "1E+2", "100", "1E+2"],
    ],
)
def test_amounts_kept_by_value_show_as_drf_shows_each(values):
    for value in values:
        row = SimpleNamespace(amount=Decimal(value), text=Decimal(value), normalized=Decimal(value))

        planned = planned_representation(AmountShape, row, {})

        expected = dict(AmountShape(row).data)
        # By text and type: a NaN equals nothing, and `-0.00` equals `0.00`.
        assert _shown(planned) == _shown(expected)


def test_an_amount_follows_the_decimal_context_it_is_shown_in():
    row = SimpleNamespace(amount=Decimal("2.345"), text=Decimal("2.25"), normalized=Decimal(1))
    planned_representation(AmountShape, row, {})

    with decimal.localcontext(rounding=decimal.ROUND_DOWN):
        planned = planned_representation(AmountShape, row, {})
        expected = dict(AmountShape(row).data)

    assert planned == expected == {"amount": Decimal("2.34"), "text": "2.2", "normalized": 1}


def test_an_amount_follows_the_string_setting(settings):
    row = SimpleNamespace(amount=Decimal("7.5"), text=Decimal("7.5"), normalized=Decimal(7))
    planned_representation(AmountShape, row, {})

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "COERCE_DECIMAL_TO_STRING": True}
    planned = planned_representation(AmountShape, row, {})

    assert planned == dict(AmountShape(row).data)
    assert planned["amount"] == "7.50"


def test_a_list_of_mappings_shows_as_the_many_serializers_data():
    rows = [
        {"name": "a", "amount": Decimal("1.005")},
        {"name": "b", "amount": Decimal("-0")},
        {"name": "c", "amount": Decimal("7")},
    ]
    planned_list(LineShape, rows)  # keeps the plan and the amounts

    planned = planned_list(LineShape, rows)

    expected = list(LineShape(rows, many=True).data)
    assert [_shown(row) for row in planned] == [_shown(row) for row in expected]
    assert planned_list(LineShape, []) == []


class Kind(models.TextChoices):
    DRAFT = "draft", "Draft"
    PAID = "paid", "Paid"


class IntegerKind(models.IntegerChoices):
    ONE = 1, "One"


class ColumnShape(serializers.Serializer):
    text = serializers.CharField()
    email = serializers.EmailField()
    flag = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    number = serializers.ChoiceField(choices=IntegerKind.choices)
    related = serializers.PrimaryKeyRelatedField(read_only=True)


# What a column may hold, and values of other types that take the field's own way.
COLUMN_VALUES = [
    {"text": "a", "email": "a@b.cl", "flag": True, "kind": "draft", "number": 1},
    {"text": "", "email": "", "flag": False, "kind": "", "number": "1"},
    {"text": 5, "email": Decimal("1.5"), "flag": 1, "kind": Kind.PAID, "number": IntegerKind.ONE},
    {"text": "ñ", "email": "x", "flag": "true", "kind": "unknown", "number": 2},
    {"text": "t", "email": "y", "flag": 0, "kind": 3, "number": "unknown"},
]


@pytest.mark.parametrize("values", COLUMN_VALUES)
def test_plain_columns_show_as_their_fields_show_them(values):
    row = SimpleNamespace(**values, related=SimpleNamespace(pk="cus_1"))

    planned = planned_representation(ColumnShape, row, {})

    expected = dict(ColumnShape(row).data)
    assert [(type(v), v) for v in planned.values()] == [(type(v), v) for v in expected.values()]
    assert list(planned) == list(expected)


def test_a_choice_follows_the_choices_set_on_the_kept_field():
    row = SimpleNamespace(**{**COLUMN_VALUES[0], "number": "2"}, related=None)
    assert planned_representation(ColumnShape, row, {})["number"] == "2"
    kept = kept_plan(ColumnShape)
    assert kept is not None

    kept.serializer.fields["number"].choices = [(2, "Two")]
    try:
        planned = planned_representation(ColumnShape, row, {})
    finally:
        kept.serializer.fields["number"].choices = IntegerKind.choices

    assert planned["number"] == 2
    assert planned["related"] is None


class HalvedField(serializers.DecimalField):
    """Reads its value its own way, shows it as DRF's DecimalField does."""

    def get_attribute(self, instance: Any) -> Any:
        return instance.amount / 2


class HalvedShape(serializers.Serializer):
    halved = HalvedField(max_digits=10, decimal_places=2, normalize_output=True)


@pytest.mark.parametrize("value", ["3", "3", "-0", "0.01", "12.345"])
def test_a_decimal_field_subclass_shows_as_drf_shows_it(value):
    row = SimpleNamespace(amount=Decimal(value))

    planned = planned_representation(HalvedShape, row, {})

    assert _shown(planned) == _shown(dict(HalvedShape(row).data))


_SANTIAGO = zoneinfo.ZoneInfo("America/Santiago")
_DATETIMES = [
    datetime.datetime(2026, 4, 5, 2, 30, tzinfo=datetime.UTC),  # Chile's clocks go back
    datetime.datetime(2026, 9, 6, 4, 0, 0, 123456, tzinfo=_SANTIAGO),
    datetime.datetime(2026, 9, 6, 4, 0),  # naive: made aware in the zone
]
_DATETIME_FIELDS = [
    serializers.DateTimeField(),
    serializers.DateTimeField(default_timezone=_SANTIAGO),
    serializers.DateTimeField(format="%Y-%m-%d %H:%M"),
    serializers.DateTimeField(format=None),
]


@pytest.mark.parametrize("zone", ["UTC", "America/Santiago"])
@pytest.mark.parametrize("field", _DATETIME_FIELDS)
def test_a_datetime_shown_in_the_zone_asked_for_once_is_what_the_field_shows(field, zone):
    with timezone.override(zone):
        current = current_zone()
        for value in _DATETIMES:
            assert ZonedDateTime(field).shown(value, current) == field.to_representation(value)


def test_a_datetime_beyond_the_zones_range_fails_as_the_field_fails():
    field = serializers.DateTimeField()
    late = datetime.datetime.max.replace(tzinfo=datetime.UTC)

    with timezone.override("Asia/Tokyo"), pytest.raises(serializers.ValidationError):
        ZonedDateTime(field).shown(late, current_zone())
