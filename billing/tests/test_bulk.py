"""Batch writers' helpers: ids made in bulk, JSON written by orjson, plain rows by COPY."""

import json
from datetime import date, datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models.signals import post_init
from hypothesis import given
from hypothesis import strategies as st
from ulid import ULID

from billing import ids as ids_module
from billing.bulk import Blank, any_of, bulk_insert, copy_rows, key_array
from billing.encoders import JSONDecoder, JSONEncoder, json_text
from billing.ids import public_ids
from billing.models import Event, Workspace
from billing.services.events import NewEvent, event_record_rows
from tests.factories import WorkspaceFactory

D = Decimal
_DATA = {
    "total": D("118.500000"),
    "big": D("1E+2"),
    "tiny": D("0.000001"),
    "when": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo("UTC")),
    "day": date(2026, 2, 28),
    "lines": [{"amount": D("-0"), "name": "Año"}],
    "count": 3,
    "huge": 2**70,
}


def test_bulk_ids_are_distinct_ulids_of_now_in_the_order_made() -> None:
    before = datetime.now(ZoneInfo("UTC"))
    ids = public_ids("inv", 1000)

    assert len(set(ids)) == 1000 and ids == sorted(ids)
    assert all(i.startswith("inv_") and len(i) == 30 for i in ids)
    made = ULID.from_str(ids[0].removeprefix("inv_")).datetime
    assert abs((made - before).total_seconds()) < 5
    assert public_ids("inv", 0) == []
    # Two batches share no id.
    assert not set(ids) & set(public_ids("inv", 1000))


@given(
    start=st.one_of(st.integers(0, 3000), st.integers(0, 2**80 - 5000), st.just(2**80 - 5000)),
    count=st.integers(1, 5000),
    ms=st.integers(0, 2**48 - 1),
)
def test_bulk_ids_are_the_ulids_of_their_instant_and_counted_random_part(
    start: int, count: int, ms: int
) -> None:
    """Each id is the ULID of the batch's millisecond and its random part, counted up from
    the batch's draw, as ULID writes it, across every carry of the counting."""
    with (
        mock.patch.object(ids_module.time, "time_ns", return_value=ms * 1_000_000 + 999),
        mock.patch.object(ids_module.secrets, "randbelow", return_value=start),
    ):
        ids = public_ids("evt", count)

    assert ids == [f"evt_{ULID.from_int((ms << 80) | (start + n))}" for n in range(count)]


def test_json_text_reads_back_as_the_standard_encoder_writes() -> None:
    text = json_text(_DATA, JSONEncoder)

    assert json.loads(text, cls=JSONDecoder) == json.loads(
        json.dumps(_DATA, cls=JSONEncoder), cls=JSONDecoder
    )
    # orjson writes it, but for an integer beyond 64 bits, which the standard encoder does.
    assert json_text({"total": D("118.500000"), "big": D("1E+2")}) == '{"total":118.5,"big":100}'
    assert '"huge": 1180591620717411303424' in text


@pytest.mark.django_db
def test_rows_store_what_instances_store() -> None:
    workspace = WorkspaceFactory()
    made = Event.objects.create(
        workspace=workspace, object_id="sub_A", type="t", sequence=1, data=_DATA
    )
    with transaction.atomic():
        [row_id] = event_record_rows(
            workspace_id=workspace.pk, test_mode=False, events=[NewEvent("t", "sub_A", _DATA)],
            publish=lambda ids: None,
        )  # fmt: skip
    copied = Event.objects.get(pk=row_id)

    assert copied.sequence == 2  # after the object's last event
    assert copied.data == Event.objects.get(pk=made.pk).data
    assert copied.metadata == {} and copied.created_at is not None


@pytest.mark.postgresql
@pytest.mark.django_db
def test_rows_need_every_column_a_table_requires() -> None:
    workspace = WorkspaceFactory()
    with pytest.raises(Exception, match="null value"), transaction.atomic():
        copy_rows(Event, ["id", "workspace_id", "object_id"], [("evt_X", workspace.pk, "o")])


def test_blank_makes_the_instance_the_constructor_makes() -> None:
    workspace = Workspace(id="wsp_A")
    columns = {"object_id": "sub_A", "type": "t", "sequence": 2, "data": _DATA}

    made = Blank(Event).make(related={"workspace": workspace}, **columns)
    built = Event(workspace=workspace, **columns)

    assert made.id != built.id and made.id.startswith("evt_")
    assert {**vars(made), "id": None, "_state": None} == {**vars(built), "id": None, "_state": None}
    assert made._state.adding and made._state.db is None
    assert made.workspace is workspace and made.workspace_id == "wsp_A"
    assert made.metadata == {} and made.metadata is not Blank(Event).make().metadata
    # An id made in bulk is the instance's; no other is made for it.
    blank = Blank(Event)
    blank.called = [(name, _refused if name == "id" else make) for name, make in blank.called]
    assert blank.make(id="evt_BULK").id == "evt_BULK"


def _refused() -> None:
    raise AssertionError("an id was made")


def test_blank_goes_through_the_constructor_when_instances_are_watched() -> None:
    seen = []

    def watch(sender: type, instance: Event, **kwargs: object) -> None:
        seen.append(instance)

    post_init.connect(watch, sender=Event)
    try:
        made = Blank(Event).make(object_id="sub_A")
    finally:
        post_init.disconnect(watch, sender=Event)

    assert seen == [made]


def test_equal_decimals_write_one_literal_and_no_number_is_refused_quietly() -> None:
    values = {"a": D("1.50"), "b": D("1.5"), "c": D("15E-1"), "d": D("-0.0"), "e": D("1E+2")}

    assert json_text(values) == '{"a":1.5,"b":1.5,"c":1.5,"d":0,"e":100}'
    for refused in ("NaN", "sNaN", "-Infinity"):
        with pytest.raises(TypeError) as raised:
            json_text({"x": D(refused)})
        assert "not a JSON number" in str(raised.value.__cause__)


@pytest.mark.postgresql
@pytest.mark.django_db
@pytest.mark.parametrize(
    "names",
    [
        ["Acme", "Beta"],  # joined by commas
        ["Acme, Ltd.", "Beta"],  # a comma in a key: a list parameter
        ["", "Beta"],  # an empty key: a list parameter
        [""],
        ["Acme"],
    ],
)
def test_any_of_finds_the_rows_a_list_finds(names: list[str]) -> None:
    for name in ["Acme", "Acme, Ltd.", "Beta", "", "Gamma"]:
        WorkspaceFactory(name=name)
    workspaces = Workspace.objects.filter(name__in=any_of(names))
    ids = list(Workspace.objects.filter(name__in=names).values_list("pk", flat=True))

    assert sorted(workspaces.values_list("pk", flat=True)) == sorted(ids)
    numbered = Event.objects.filter(sequence__in=any_of([1, 2, 30]))
    assert "unnest" in str(numbered.query) and list(numbered) == []


def test_key_array_joins_only_keys_that_split_back() -> None:
    assert key_array(["a", "b"]) == ("string_to_array(%s, ',')", "a,b")
    assert key_array([1, 20]) == ("string_to_array(%s, ',')::bigint[]", "1,20")
    assert key_array(["a,b", "c"]) == ("%s::text[]", ["a,b", "c"])
    assert key_array(["", "c"]) == ("%s::text[]", ["", "c"])


@pytest.mark.postgresql
@pytest.mark.django_db
def test_a_row_a_constraint_refuses_is_django_s_integrity_error() -> None:
    """As from any other query, so the API's one error mapping answers it (a 409)."""
    workspace = WorkspaceFactory()
    taken = Event.objects.create(
        workspace=workspace, object_id="sub_A", type="t", sequence=1, data={}
    )
    again = Event(
        pk=taken.pk, workspace=workspace, object_id="sub_A", type="t", sequence=2, data={}
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Event, [again])
