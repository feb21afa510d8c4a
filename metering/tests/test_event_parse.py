"""The per-event checks of the bulk route, on plain data (no database)."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metering.choices import EVENT_ID_MAX_LENGTH
from metering.services.events import EventInvalid, _event_checked, event_parse, events_parse
from metering.store import NewEvent

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _event(**changes):
    event = {"event_id": "e1", "event_name": "api_call", "customer": "cus_1"}
    event.update(changes)
    return event


@pytest.mark.parametrize(
    "value",
    ["", " ", "\t\n", "\u00a0\u2003", None, 7, ["e1"]],
    ids=["empty", "space", "tab-newline", "unicode-spaces", "null", "number", "list"],
)
def test_an_event_id_that_is_not_a_non_blank_string_is_refused(value):
    with pytest.raises(EventInvalid) as refused:
        event_parse(_event(event_id=value), now=NOW)
    assert (refused.value.field, refused.value.message) == (
        "event_id", "Required: a non-empty string.",
    )  # fmt: skip


def test_an_event_id_padded_with_spaces_is_kept_as_sent():
    assert event_parse(_event(event_id=" e1 "), now=NOW).event_id == " e1 "


def test_an_event_id_over_the_limit_is_refused_and_at_the_limit_is_kept():
    at_limit = "x" * EVENT_ID_MAX_LENGTH
    assert event_parse(_event(event_id=at_limit), now=NOW).event_id == at_limit
    with pytest.raises(EventInvalid) as refused:
        event_parse(_event(event_id=at_limit + "x"), now=NOW)
    assert refused.value.message == f"At most {EVENT_ID_MAX_LENGTH} characters."


def test_of_several_unknown_fields_the_first_in_order_is_named():
    with pytest.raises(EventInvalid) as refused:
        event_parse(_event(zeta=1, alpha=2), now=NOW)
    assert (refused.value.field, refused.value.message) == ("alpha", "Unknown field.")


def test_an_unknown_field_in_place_of_a_known_one_is_named():
    # Five fields, as a well-formed event has, one of them unknown.
    with pytest.raises(EventInvalid) as refused:
        event_parse(_event(properties={}, zeta=1), now=NOW)
    assert (refused.value.field, refused.value.message) == ("zeta", "Unknown field.")


def test_an_event_with_only_known_fields_is_parsed():
    event = event_parse(_event(timestamp="2026-12-01T10:00:00Z", properties={"tokens": 3}), now=NOW)
    assert (event.customer_key, event.timestamp, event.properties) == (
        "cus_1", datetime(2026, 12, 1, 10, tzinfo=UTC), {"tokens": 3},
    )  # fmt: skip


_TEXTS = st.sampled_from(["e1", " e1 ", "", " ", "\u00a0\t", "x" * 300, None, 7, ["e1"]])
_TIMESTAMPS = st.sampled_from([
    "2026-12-01T10:00:00Z", "2026-12-01T10:00:00+03:00", "2026-12-01T10:00:00",
    "2026-12-06T11:59:59Z", "2026-12-06T12:00:01Z", "1999-12-31T23:00:00+00:00",
    "2000-01-01T00:00:00+01:00", "2026-12-01", "tomorrow", "", None, 7,
    # Around 2000 in UTC and in the local year: the checks read the local year.
    "2000-01-01T23:30:00-01:00", "2000-01-02T00:30:00+01:00", "1999-12-31T23:30:00-01:00",
    "2026-12-06T12:00:00-23:59", "2026-12-06T12:00:00+23:59",
])  # fmt: skip
_VALUES = {
    "event_id": _TEXTS,
    "event_name": _TEXTS,
    "customer": _TEXTS,
    "timestamp": _TIMESTAMPS,
    "properties": st.one_of(st.none(), st.just({}), st.just({"tokens": 3}), st.just([1])),
    "zeta": st.integers(),
}


@st.composite
def _events(draw):
    """A well-formed event with up to two fields changed, removed or added, or not an
    object at all."""
    if draw(st.integers(0, 20)) == 0:
        return draw(st.one_of(st.none(), st.lists(st.integers(), max_size=1), st.text()))
    event = _event(timestamp="2026-12-01T10:00:00Z", properties={"tokens": 3})
    for name in draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, max_size=2)):
        if draw(st.booleans()):
            event[name] = draw(_VALUES[name])
        else:
            event.pop(name, None)
    return event


def _answer(parse, data):
    try:
        return parse(data)
    except EventInvalid as exc:
        return (exc.field, exc.message)


@settings(max_examples=1000)
@given(_events())
def test_the_quick_checks_answer_as_the_field_by_field_checks_on_any_event(data):
    quick = _answer(lambda d: event_parse(d, now=NOW), data)
    checked = _answer(lambda d: _event_checked(d, now=NOW, latest=None), data)
    assert quick == checked


def _well_formed_event(draw, position):
    """An event with all five fields, as most of a batch is."""
    return {
        "event_id": f"e{position}", "event_name": "api_call", "customer": "cus_1",
        "timestamp": draw(st.sampled_from(["2026-12-01T10:00:00Z", "2026-12-01T10:00:00+03:00"])),
        "properties": draw(st.sampled_from([{}, {"tokens": 3}])),
    }  # fmt: skip


@st.composite
def _batches(draw):
    """Batches of well-formed events, some with one event of any kind among them."""
    size = draw(st.integers(1, 30))
    batch = [_well_formed_event(draw, position) for position in range(size)]
    if draw(st.booleans()):
        batch[draw(st.integers(0, size - 1))] = draw(_events())
    return batch


def _answer_each(data):
    try:
        return _event_checked(data, now=NOW, latest=None)
    except EventInvalid as exc:
        return (exc.field, exc.message)


@settings(max_examples=500)
@given(_batches())
def test_a_batch_is_parsed_as_each_of_its_events_is_alone(batch):
    parsed = [
        (p.field, p.message) if isinstance(p, EventInvalid) else p
        for p in events_parse(batch, now=NOW)
    ]
    assert parsed == [_answer_each(data) for data in batch]
    assert {type(p) for p in parsed} <= {NewEvent, tuple}
