"""The PostgreSQL store writes each event as it was given: every field read back from
`metering_event` equals the NewEvent, whatever its text, instant or properties hold, and
an event whose key another transaction holds is stored once."""

import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.choices import CUSTOMER_KEY_MAX_LENGTH, EVENT_ID_MAX_LENGTH, EVENT_NAME_MAX_LENGTH
from metering.store import NewEvent, Tenant, distinct_text, property_text
from metering.store.postgres import PostgresDialect, PostgresEventStore

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

RECEIVED_AT = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
_workspaces = count()

# What JSON can carry and PostgreSQL's text can store: no NUL, no lone surrogate.
characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
text = st.text(characters, min_size=1, max_size=20)


def field(max_length: int) -> st.SearchStrategy[str]:
    return st.one_of(text, st.text(characters, min_size=max_length, max_size=max_length))


# Integers within 64 bits: the API refuses larger ones (orjson writes no other).
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.decimals(allow_nan=False, allow_infinity=False, places=6),
    st.decimals("-1e20", "1e20", allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
offsets = [UTC, timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=30))]
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from(offsets),
)  # fmt: skip
events = st.lists(
    st.builds(
        NewEvent,
        field(EVENT_ID_MAX_LENGTH),
        field(EVENT_NAME_MAX_LENGTH),
        field(CUSTOMER_KEY_MAX_LENGTH),
        instants,
        st.dictionaries(text, json_values, max_size=4),
    ),
    min_size=1,
    max_size=20,
    unique_by=lambda event: event.event_id,
)


def _stored(tenant: Tenant) -> dict[str, tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, event_name, customer_key, timestamp, properties::text, "
            "received_at FROM metering_event WHERE workspace_id = %s AND test_mode = %s",
            [tenant.workspace_id, tenant.test_mode],
        )
        return {
            row[0]: (*row[:4], json.loads(row[4], parse_float=Decimal), row[5])
            for row in cursor.fetchall()
        }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=events)
def test_every_field_is_stored_as_given(batch):
    store = PostgresEventStore()
    tenant = Tenant(workspace_id=f"acc_roundtrip{next(_workspaces)}", test_mode=False)

    with transaction.atomic():  # an example that fails leaves the next ones a transaction
        stored_ids = store.insert(tenant=tenant, events=batch, received_at=RECEIVED_AT)

    assert stored_ids == {event.event_id for event in batch}
    assert _stored(tenant) == {
        e.event_id: (e.event_id, e.event_name, e.customer_key, e.timestamp, e.properties,
                     RECEIVED_AT)
        for e in batch
    }  # fmt: skip


def test_event_ids_that_differ_in_case_or_accent_are_different_events():
    store = PostgresEventStore()
    tenant = Tenant(workspace_id="acc_bytewise", test_mode=True)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    ids = ["evt-a", "evt-A", "evt-á", "evt-a\u0301", "evt-ａ"]
    batch = [NewEvent(event_id, "call", "c", at, {}) for event_id in ids]

    assert store.insert(tenant=tenant, events=batch, received_at=at) == set(ids)
    assert store.insert(tenant=tenant, events=batch[::-1], received_at=at) == set()
    assert sorted(_stored(tenant)) == sorted(ids)


def _key_held_by_another_transaction(tenant: Tenant, *event_ids: str) -> Any:
    """A second session that has inserted these event_ids' keys and not yet committed."""
    other = connection.copy()
    other.ensure_connection()
    session = other.connection
    session.autocommit = False
    for event_id in event_ids:
        session.execute(
            "INSERT INTO metering_event_key (workspace_id, test_mode, event_id) "
            "VALUES (%s, %s, %s)",
            [tenant.workspace_id, tenant.test_mode, event_id],
        )
    return other


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("other_commits", [True, False])
def test_a_key_another_transaction_holds_is_stored_once(other_commits):
    tenant = Tenant(workspace_id=f"acc_held{next(_workspaces)}", test_mode=False)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    batch = [NewEvent(f"evt-{n}", "call", "c", at, {}) for n in range(3)]
    other = _key_held_by_another_transaction(tenant, "evt-1")
    # The insert below waits on evt-1's key until the other session ends.
    end = other.connection.commit if other_commits else other.connection.rollback
    ender = threading.Timer(0.5, end)
    ender.start()
    try:
        stored = PostgresEventStore().insert(tenant=tenant, events=batch, received_at=at)
    finally:
        ender.join()
        other.close()

    if other_commits:  # the key is the other session's: its event is a duplicate here
        assert stored == {"evt-0", "evt-2"}
    else:
        assert stored == {"evt-0", "evt-1", "evt-2"}
    assert sorted(_stored(tenant)) == sorted(stored)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id FROM metering_event_key WHERE workspace_id = %s ORDER BY 1",
            [tenant.workspace_id],
        )
        assert [row[0] for row in cursor.fetchall()] == ["evt-0", "evt-1", "evt-2"]


def test_an_event_id_is_its_tenants_own():
    store = PostgresEventStore()
    at = datetime(2026, 3, 1, tzinfo=UTC)
    tenants = [Tenant("acc_own", False), Tenant("acc_own", True), Tenant("acc_own2", False)]
    batch = [NewEvent("evt-1", "call", "c", at, {})]

    for tenant in tenants:
        assert store.insert(tenant=tenant, events=batch, received_at=at) == {"evt-1"}
    for tenant in tenants:
        assert store.insert(tenant=tenant, events=batch, received_at=at) == set()
        assert sorted(_stored(tenant)) == ["evt-1"]


def _colliding_event_ids(tenant: Tenant) -> tuple[str, str]:
    """Two event_ids whose keys have the same 32-bit hash (hashtext, as the key's hash
    index): among 300,000 ids about ten pairs collide."""
    mode = ":t:" if tenant.test_mode else ":f:"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id) FROM (SELECT 'evt-' || n AS id, "
            "hashtext(%s || 'evt-' || n) AS code FROM generate_series(1, 300000) n) ids "
            "GROUP BY code HAVING count(*) > 1 ORDER BY 1 LIMIT 1",
            [tenant.workspace_id + mode],
        )
        first, second = cursor.fetchone()
    return first, second


def test_events_whose_keys_hash_alike_are_both_stored():
    store = PostgresEventStore()
    tenant = Tenant(workspace_id="acc_collide", test_mode=False)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    first, second = _colliding_event_ids(tenant)

    assert store.insert(tenant=tenant, events=[NewEvent(first, "call", "c", at, {})],
                        received_at=at) == {first}  # fmt: skip
    assert store.insert(tenant=tenant, events=[NewEvent(second, "call", "c", at, {})],
                        received_at=at) == {second}  # fmt: skip
    assert sorted(_stored(tenant)) == sorted([first, second])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_events_another_transaction_keyed_meanwhile_are_left_out_of_every_month():
    """The batch's events go in before their keys: those whose keys the other session
    commits meanwhile are deleted again, whichever month's partition they went to."""
    tenant = Tenant(workspace_id=f"acc_held{next(_workspaces)}", test_mode=False)
    months = [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC)]
    batch = [
        NewEvent(f"evt-{month.month}-{n}", "call", "c", month, {})
        for month in months
        for n in range(3)
    ]
    other = _key_held_by_another_transaction(tenant, "evt-3-0", "evt-3-2", "evt-4-1")
    ender = threading.Timer(0.5, other.connection.commit)
    ender.start()
    try:
        stored = PostgresEventStore().insert(tenant=tenant, events=batch, received_at=months[0])
    finally:
        ender.join()
        other.close()

    assert stored == {"evt-3-1", "evt-4-0", "evt-4-2"}
    assert sorted(_stored(tenant)) == sorted(stored)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(json_values, st.decimals("-1e30", "1e30", allow_nan=False)))
def test_a_property_reads_in_python_as_postgresql_reads_it(value):
    # The ingest judges an event late by a meter's filters in Python (distinct_text) and
    # the store counts it by the same filters in SQL (the dialect's `distinct`): both must
    # read one text, as must property_text and ->> (a reset's action). The kernel's parser
    # gives fractions and exponents as Decimals (`1.50`, `1E+2`).
    tenant = Tenant(f"ws_text_{next(_workspaces)}", test_mode=False)
    event = NewEvent("e", "call", "c", RECEIVED_AT, {"p": value})
    PostgresEventStore().insert(tenant=tenant, events=[event], received_at=RECEIVED_AT)
    with connection.cursor() as cursor:
        distinct = PostgresDialect().distinct("e")
        cursor.execute(
            f"SELECT e.properties ->> 'p', {distinct} FROM metering_event e "
            "WHERE workspace_id = %s",
            ["p"] * distinct.count("%s") + [tenant.workspace_id],
        )
        assert (property_text(value), distinct_text(value)) == cursor.fetchone()
