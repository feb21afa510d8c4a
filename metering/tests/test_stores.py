"""The event stores answer alike: the ClickHouse store's SQL, run on chdb (ClickHouse
in-process), and the SQLite store's, on an in-memory database, against the PostgreSQL
store, over the same events."""

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering.selectors import customer_keys
from metering.store import MeterSpec, NewEvent, Tenant, UsageQuery, Window
from metering.store.chdb import ChdbClient
from metering.store.clickhouse import ClickHouseEventStore
from metering.store.postgres import PostgresEventStore
from metering.store.sqlite import SqliteEventStore

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=UTC)
METERS = [
    MeterSpec("call", "count"),
    MeterSpec("call", "sum", "tokens"),
    MeterSpec("call", "max", "tokens"),
    MeterSpec("call", "unique_count", "user"),
    MeterSpec("call", "unique_count", "size"),
    MeterSpec("call", "unique_count", "size", (("region", ("us", "eu")),), resets=True),
    MeterSpec("call", "latest", "tokens"),
    MeterSpec("call", "sum", "tokens", (("region", ("us", "eu")),)),
    MeterSpec("call", "count", "", (("user", ("7",)),)),
    MeterSpec("call", "count", "", (("size", ("1", "10", "007", "1.50", "0.00000010")),)),
    MeterSpec("call", "sum", "tokens", resets=True),
    MeterSpec("call", "max", "tokens", resets=True),
    MeterSpec("call", "latest", "tokens", (("region", ("us", "eu")),), resets=True),
]


@pytest.fixture(scope="module")
def chdb_client():
    client = ChdbClient()
    yield client
    client.close()


@pytest.fixture(scope="module")
def sqlite_store():
    raw = sqlite3.connect(":memory:", isolation_level=None)
    for statement in import_module("metering.migrations.0002_event_store")._CREATE_SQLITE:
        raw.execute(statement)
    yield SqliteEventStore(lambda: raw)
    raw.close()


_runs = iter(range(10**6))


def _tenant(workspace: str) -> Tenant:
    # Each test or example writes under a workspace id of its own (chdb outlives them).
    return Tenant(workspace_id=f"{workspace}-{next(_runs)}", test_mode=False)


# One number written several ways, strings, null.
SIZES = [
    1, Decimal("1.0"), Decimal("1.50"), Decimal("1.5"), "1.5", "1.50", 10, Decimal("1E+1"),
    "10", 0, Decimal("-0.0"), Decimal("1E-7"), "0.0000001", "007", True, "true", None,
]  # fmt: skip
event_strategy = st.tuples(
    st.integers(0, 30),  # event id
    st.sampled_from(["a", "b"]),  # customer
    st.integers(0, 60 * 24 * 40),  # minutes after T0
    st.one_of(
        st.integers(-5, 10**9),
        st.decimals("-100", "100", places=3).map(str),
        st.just("n/a"),
        st.none(),
    ),  # tokens
    st.sampled_from(["u1", "u2", 7]),  # user
    st.sampled_from(["us", "eu", "ap"]),  # region
    st.sampled_from([None, "increment", "set"]),  # action (read by meters that reset)
    st.sampled_from(SIZES),  # size (read by unique_count)
)


def _events(rows) -> list[NewEvent]:
    events = {}
    for event_id, customer, minutes, tokens, user, region, action, size in rows:
        properties = {"user": user, "region": region, "size": size}
        if action is not None:
            properties["action"] = action
        if tokens is not None:
            properties["tokens"] = tokens
        events.setdefault(f"e{event_id}", NewEvent(
            f"e{event_id}", "call", customer, T0 + timedelta(minutes=minutes), properties
        ))  # fmt: skip
    return list(events.values())


@pytest.mark.postgresql
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(event_strategy, min_size=1, max_size=30))
def test_every_store_gives_the_same_usage(chdb_client, sqlite_store, rows):
    postgres, clickhouse = PostgresEventStore(), ClickHouseEventStore(chdb_client)
    tenant = _tenant("acc_parity")
    events = _events(rows)
    for store in (postgres, clickhouse, sqlite_store):
        # Twice, the second time shuffled: each event is stored once.
        assert store.insert(tenant=tenant, events=events, received_at=T0) == {
            e.event_id for e in events
        }
        assert store.insert(tenant=tenant, events=events[::-1], received_at=T0) == set()
        # A third of them deleted: none is stored again when resent.
        deleted = events[::3]
        for event in deleted:
            assert store.delete(tenant=tenant, event=event) is True
            assert store.delete(tenant=tenant, event=event) is False
        assert store.insert(tenant=tenant, events=deleted, received_at=T0) == set()
    window = (T0 + timedelta(days=2), T0 + timedelta(days=30))
    for meter in METERS:
        for group_by, prop in [(None, ""), ("day", ""), ("property", "region")]:
            query = UsageQuery(meter, ("a", "zzz"), *window, group_by=group_by,
                               group_property=prop, timezone="America/Santiago")  # fmt: skip
            expected = postgres.usage(tenant=tenant, query=query)
            assert clickhouse.usage(tenant=tenant, query=query) == expected, (meter, group_by)
            assert sqlite_store.usage(tenant=tenant, query=query) == expected, (meter, group_by)
        windows = [Window("1", ("a",), *window), Window("2", ("b", "a"), T0, window[0]),
                   Window("3", ("nobody",), *window)]  # fmt: skip
        expected_windows = postgres.usage_windows(tenant=tenant, meter=meter, windows=windows)
        for store in (clickhouse, sqlite_store):
            assert (
                store.usage_windows(tenant=tenant, meter=meter, windows=windows) == expected_windows
            ), (store, meter)
        for limit in (1, 5):
            top = {"tenant": tenant, "meter": meter, "start": window[0], "end": window[1]}
            expected_top = postgres.top_customer_keys(**top, limit=limit)
            for store in (clickhouse, sqlite_store):
                assert store.top_customer_keys(**top, limit=limit) == expected_top, (
                    store, meter, limit,
                )  # fmt: skip


def test_a_known_case_on_clickhouse(chdb_client):
    store = ClickHouseEventStore(chdb_client)
    tenant = _tenant("acc_known")
    events = [
        NewEvent("1", "call", "c", T0 + timedelta(hours=1), {"tokens": "2.5", "user": "x"}),
        NewEvent("2", "call", "c", T0 + timedelta(hours=2), {"tokens": 10, "user": "y"}),
        NewEvent("3", "call", "c", T0 + timedelta(hours=2), {"tokens": 4, "user": "x"}),
        NewEvent("4", "other", "c", T0 + timedelta(hours=2), {"tokens": 99}),
    ]
    store.insert(tenant=tenant, events=events, received_at=T0)
    window = (T0, T0 + timedelta(days=1))

    def value(aggregation: str, field: str = "tokens") -> Decimal:
        query = UsageQuery(MeterSpec("call", aggregation, field), ("c",), *window)
        return store.usage(tenant=tenant, query=query)[0].value

    assert value("count", "") == 3
    assert value("sum") == Decimal("16.5")
    assert value("max") == 10
    assert value("unique_count", "user") == 2
    assert value("latest") == 4  # same timestamp as "2": the greater event_id wins


@pytest.fixture(
    params=[pytest.param("postgres", marks=pytest.mark.postgresql), "clickhouse", "sqlite"]
)
def store(request, chdb_client, sqlite_store):
    if request.param == "postgres":
        return PostgresEventStore()
    if request.param == "sqlite":
        return sqlite_store
    return ClickHouseEventStore(chdb_client)


def test_a_set_starts_the_window_over_and_later_events_add_to_it(store):
    tenant = _tenant("acc_set")
    at = [T0 + timedelta(hours=n) for n in range(6)]
    events = [
        NewEvent("1", "call", "c", at[0], {"tokens": 10}),
        NewEvent("2", "call", "c", at[1], {"tokens": 7, "action": "set"}),
        NewEvent("3", "call", "c", at[2], {"tokens": 100}),  # the set's instant, a smaller id
        NewEvent("4", "call", "c", at[2], {"tokens": 5, "action": "set"}),  # the last set
        NewEvent("5", "call", "c", at[3], {"tokens": 2}),
        NewEvent("6", "call", "c", at[4], {"tokens": 1, "action": "increment"}),
        NewEvent("7", "call", "d", at[5], {"tokens": 1000, "action": "set"}),  # another key
    ]
    store.insert(tenant=tenant, events=events, received_at=T0)
    resets = MeterSpec("call", "sum", "tokens", resets=True)
    day = (T0, T0 + timedelta(days=1))

    def value(meter: MeterSpec, start, end) -> Decimal:
        return store.usage(tenant=tenant, query=UsageQuery(meter, ("c",), start, end))[0].value

    assert value(resets, *day) == 5 + 2 + 1
    assert value(MeterSpec("call", "sum", "tokens"), *day) == 125  # a meter of events: no reset
    assert value(MeterSpec("call", "max", "tokens", resets=True), *day) == 5
    # A window ending before the last set reads the set before it; one with no set, all.
    assert value(resets, T0, at[2]) == 7
    assert value(resets, T0, at[1]) == 10
    assert value(resets, at[3], day[1]) == 3
    grouped = UsageQuery(resets, ("c",), *day, group_by="day")
    assert [(r.group, r.value) for r in store.usage(tenant=tenant, query=grouped)] == [
        ("2026-01-01", Decimal(8))
    ]
    windows = [
        Window("whole", ("c",), *day), Window("before", ("c",), T0, at[2]),
        Window("both", ("c", "d"), *day), Window("none", ("c",), at[5], day[1]),
    ]  # fmt: skip
    assert store.usage_windows(tenant=tenant, meter=resets, windows=windows) == {
        "whole": Decimal(8), "before": Decimal(7), "both": Decimal(1000), "none": Decimal(0),
    }  # fmt: skip


def test_a_deleted_event_is_not_counted_and_its_id_never_counts_again(store):
    tenant = _tenant("acc_delete")
    events = [
        NewEvent("1", "call", "c", T0, {"tokens": 3}),
        NewEvent("2", "call", "c", T0 + timedelta(hours=1), {"tokens": 4}),
    ]
    store.insert(tenant=tenant, events=events, received_at=T0)
    meter = MeterSpec("call", "sum", "tokens")
    day = (T0, T0 + timedelta(days=1))

    def value() -> Decimal:
        return store.usage(tenant=tenant, query=UsageQuery(meter, ("c",), *day))[0].value

    # Looked up where its customer, name and timestamp place it: elsewhere, nothing goes.
    assert store.delete(tenant=tenant, event=events[1]._replace(customer_key="d")) is False
    assert store.delete(tenant=tenant, event=events[1]._replace(timestamp=T0)) is False
    assert store.delete(tenant=tenant, event=events[1]) is True
    assert value() == 3
    # Resent, even elsewhere and with another value, the id is a duplicate.
    resent = events[1]._replace(timestamp=T0 + timedelta(hours=2), properties={"tokens": 9})
    assert store.insert(tenant=tenant, events=[resent], received_at=T0) == set()
    assert value() == 3
    assert store.usage_windows(tenant=tenant, meter=meter, windows=[Window("w", ("c",), *day)]) == {
        "w": Decimal(3)
    }
    assert store.delete(tenant=tenant, event=events[1]) is False
    assert store.delete(tenant=tenant, event=events[1]._replace(event_id="never")) is False
    assert store.insert(tenant=tenant, events=[events[1]._replace(event_id="3")],
                        received_at=T0) == {"3"}  # fmt: skip
    assert value() == 7


def test_a_key_named_twice_in_a_window_counts_its_events_once(store):
    tenant = _tenant("acc_twice")
    events = [NewEvent("1", "call", "cus_a", T0, {"tokens": 3000})]
    store.insert(tenant=tenant, events=events, received_at=T0)
    day = (T0, T0 + timedelta(days=1))
    windows = [Window("line", ("cus_a", "cus_a"), *day), Window("other", ("cus_a",), *day)]
    assert store.usage_windows(
        tenant=tenant, meter=MeterSpec("call", "sum", "tokens"), windows=windows
    ) == {"line": Decimal(3000), "other": Decimal(3000)}


def test_the_top_customer_keys_are_the_greatest_values_first(store):
    tenant = _tenant("acc_top")
    events = [
        NewEvent(f"{key}-{n}", "call", key, T0 + timedelta(hours=n), {"tokens": tokens})
        for key, tokens, times in [("a", 5, 1), ("b", 3, 3), ("c", 9, 1), ("d", 3, 3)]
        for n in range(times)
    ]
    events.append(NewEvent("late", "call", "e", T0 + timedelta(days=2), {"tokens": 100}))
    store.insert(tenant=tenant, events=events, received_at=T0)

    rows = store.top_customer_keys(
        tenant=tenant, meter=MeterSpec("call", "sum", "tokens"), start=T0,
        end=T0 + timedelta(days=1), limit=3,
    )  # fmt: skip

    assert [(row.group, row.value) for row in rows] == [
        ("b", Decimal(9)), ("c", Decimal(9)), ("d", Decimal(9)),
    ]  # fmt: skip


def test_a_customers_former_reference_counts_its_events_once_in_every_store(store):
    # Events sent under the reference before it changed, under the new one and under the
    # id, read by every key the customer has had (metering.selectors.customer_keys).
    tenant = _tenant("acc_renamed")
    events = [
        NewEvent("1", "call", "acme-1", T0, {"tokens": 1}),
        NewEvent("2", "call", "acme-2", T0, {"tokens": 10}),
        NewEvent("3", "call", "cus_a", T0, {"tokens": 100}),
    ]
    store.insert(tenant=tenant, events=events, received_at=T0)
    keys = customer_keys(customer_id="cus_a", reference="acme-2", former=("acme-1", "acme-2"))
    day = (T0, T0 + timedelta(days=1))

    meter = MeterSpec("call", "sum", "tokens")

    total = store.usage(tenant=tenant, query=UsageQuery(meter, keys, *day))
    per_window = store.usage_windows(tenant=tenant, meter=meter, windows=[Window("l", keys, *day)])

    assert keys == ("cus_a", "acme-2", "acme-1")
    assert total[0].value == 111
    assert per_window == {"l": Decimal(111)}


def test_unique_count_counts_a_number_once_however_it_is_written(store):
    # Numbers as the events' JSON brings them (a fraction or an exponent as a Decimal).
    users = [
        1, Decimal("1.0"), Decimal("1.00"), Decimal("0.1E+1"),  # 1
        Decimal("1.5"), Decimal("1.50"), "1.5",  # 1.5, the string as the number reads
        10, Decimal("1E+1"), Decimal("10.0"),  # 10
        7, "7",  # 7
        0, Decimal("-0.0"), Decimal("0E-3"),  # 0
        Decimal("1E-7"), Decimal("0.0000001"),  # 0.0000001
        "007", "1.0",  # strings count as written: neither is 7 or 1
        True, "true",  # true
        None,  # no value: not counted
    ]  # fmt: skip
    tenant = _tenant("acc_unique")
    events = [
        NewEvent(str(n), "call", "c", T0 + timedelta(minutes=n), {"user": user})
        for n, user in enumerate(users)
    ]
    store.insert(tenant=tenant, events=events, received_at=T0)
    meter = MeterSpec("call", "unique_count", "user")
    day = (T0, T0 + timedelta(days=1))

    total = store.usage(tenant=tenant, query=UsageQuery(meter, ("c",), *day))
    windows = [Window("w", ("c",), *day)]
    per_window = store.usage_windows(tenant=tenant, meter=meter, windows=windows)
    top = store.top_customer_keys(tenant=tenant, meter=meter, start=day[0], end=day[1], limit=1)

    assert total[0].value == 9
    assert per_window == {"w": Decimal(9)}
    assert [(row.group, row.value) for row in top] == [("c", Decimal(9))]


def test_numbers_aggregate_exactly_whatever_their_digits(store):
    # JSON numbers as the events' JSON brings them (fractions as Decimals), beyond the 16
    # or so digits a double keeps, beside a string holding more still.
    tokens = [
        Decimal("1234567890123.123456789"), Decimal("9223372036854775806.5"), Decimal("0.1"),
        Decimal("0.2"), Decimal("0.0000000000001"), "12345678901234567890.123456789",
    ]  # fmt: skip
    tenant = _tenant("acc_exact")
    events = [
        NewEvent(str(n), "call", "c", T0 + timedelta(minutes=n), {"tokens": value})
        for n, value in enumerate(tokens)
    ]
    store.insert(tenant=tenant, events=events, received_at=T0)
    day = (T0, T0 + timedelta(days=1))

    def values(aggregation: str, end: datetime = day[1]) -> list[Decimal]:
        meter = MeterSpec("call", aggregation, "tokens")
        total = store.usage(tenant=tenant, query=UsageQuery(meter, ("c",), day[0], end))
        windows = [Window("w", ("c",), day[0], end)]
        per_window = store.usage_windows(tenant=tenant, meter=meter, windows=windows)
        top = store.top_customer_keys(tenant=tenant, meter=meter, start=day[0], end=end, limit=1)
        return [total[0].value, per_window["w"], top[0].value]

    assert values("sum") == [Decimal("21569052172657233820.0469135780001")] * 3
    assert values("max") == [Decimal("12345678901234567890.123456789")] * 3
    # The latest events before the string: 13 decimals, then a number of 20 digits.
    assert values("latest", T0 + timedelta(minutes=5)) == [Decimal("1E-13")] * 3
    assert values("latest", T0 + timedelta(minutes=2)) == [Decimal("9223372036854775806.5")] * 3
    assert (
        values("sum", T0 + timedelta(minutes=4)) == [Decimal("9223373271422665929.923456789")] * 3
    )


# One number written several ways, strings that look like numbers, and no value.
SIZES_BY_VALUE = [
    1, Decimal("1.0"), Decimal("1E+0"),  # 1
    Decimal("1.50"), "1.5",  # 1.5: the string as the number reads
    10, Decimal("1E+1"), Decimal("10.00"),  # 10
    Decimal("1E-7"), Decimal("0.00000010"),  # 0.0000001
    7, "7", "007", "1.0", "1.50",  # 7; strings of their own
    True, None,
]  # fmt: skip


def test_group_by_and_filters_compare_a_number_by_its_value(store):
    tenant = _tenant("acc_by_value")
    events = [
        NewEvent(str(n), "call", "c", T0 + timedelta(minutes=n), {"size": size, "tokens": 1})
        for n, size in enumerate(SIZES_BY_VALUE)
    ]
    events.append(NewEvent("missing", "call", "c", T0, {"tokens": 1}))
    store.insert(tenant=tenant, events=events, received_at=T0)
    day = (T0, T0 + timedelta(days=1))

    def usage(meter: MeterSpec, **query) -> dict[str | None, Decimal]:
        rows = store.usage(tenant=tenant, query=UsageQuery(meter, ("c",), *day, **query))
        return {row.group: row.value for row in rows}

    def count(*values: str) -> list[Decimal]:
        meter = MeterSpec("call", "sum", "tokens", (("size", values),))
        windows = [Window("w", ("c",), *day)]
        top = store.top_customer_keys(tenant=tenant, meter=meter, start=day[0], end=day[1], limit=1)
        return [
            usage(meter)[None],
            store.usage_windows(tenant=tenant, meter=meter, windows=windows)["w"],
            top[0].value if top else Decimal(0),
        ]

    assert usage(MeterSpec("call", "count"), group_by="property", group_property="size") == {
        "1": 3, "1.5": 2, "10": 3, "0.0000001": 2, "7": 2, "007": 1, "1.0": 1, "1.50": 1,
        "true": 1, None: 2,
    }  # fmt: skip
    # A value written as a number matches the numbers of that value, and itself as text.
    assert count("1") == [3] * 3
    assert count("1.0") == [4] * 3
    assert count("1.50") == [3] * 3
    assert count("10.0", "0.0000001") == [5] * 3
    assert count("7") == [2] * 3
    assert count("007") == [1] * 3  # not a number as JSON writes one: the text alone
    assert count("1e0", "true") == [1] * 3  # an exponent is not read: the true alone
