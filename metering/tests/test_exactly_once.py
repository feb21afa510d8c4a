"""G5: a duplicated event_id is counted once, whatever the batches, their order, their
replays, and requests racing each other on real PostgreSQL."""

import random
import threading
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from metering.tests.helpers import meter_of, post_bulk, usage

_runs = count()

# An event: (tokens, user, day, hour); ids are given by position.
events_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**6),
        st.sampled_from(["u1", "u2", "u3", "u4"]),
        st.integers(min_value=1, max_value=28),
        st.integers(min_value=0, max_value=23),
    ),
    min_size=1,
    max_size=40,
)


def _expected(events: list[tuple[int, str, int, int]]) -> dict[str, Decimal]:
    latest = max(range(len(events)), key=lambda i: ((events[i][2], events[i][3]), i))
    return {
        "count": Decimal(len(events)),
        "sum": Decimal(sum(e[0] for e in events)),
        "max": Decimal(max(e[0] for e in events)),
        "unique_count": Decimal(len({e[1] for e in events})),
        "latest": Decimal(events[latest][0]),
    }


def _payload(run: int, index: int, event: tuple[int, str, int, int]) -> dict:
    tokens, user, day, hour = event
    return {"event_id": f"r{run}-e{index:03d}", "event_name": f"call-{run}", "customer": "c",
            "timestamp": f"2026-01-{day:02d}T{hour:02d}:00:00Z",
            "properties": {"tokens": tokens, "user": user}}  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=events_strategy, seed=st.randoms(use_true_random=False), batch=st.integers(1, 15))
def test_shuffled_duplicated_replayed_batches_give_the_same_aggregates(tenant, events, seed, batch):
    # Each example sends its events under an event name of its own, in one tenant.
    run = next(_runs)
    payloads = [_payload(run, i, e) for i, e in enumerate(events)]
    # Every event once or more, shuffled, cut into batches, and the first batch replayed.
    stream = payloads + [seed.choice(payloads) for _ in range(seed.randint(0, len(payloads)))]
    seed.shuffle(stream)
    batches = [stream[i : i + batch] for i in range(0, len(stream), batch)]
    for chunk in [*batches, batches[0]]:
        assert post_bulk(tenant, chunk).status_code == 202

    expected = _expected(events)
    for aggregation, value in expected.items():
        field = "user" if aggregation == "unique_count" else "tokens"
        meter = meter_of(tenant, event_name=f"call-{run}", aggregation=aggregation,
                         field="" if aggregation == "count" else field)  # fmt: skip
        assert usage(tenant, meter, "c") == value, aggregation


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_bulk_posts_store_each_event_once(tenant):
    events = [(random.randint(0, 1000), "u1", 1 + n % 28, n % 24) for n in range(600)]
    payloads = [_payload(0, i, e) for i, e in enumerate(events)]
    # Four clients send overlapping batches (each event by at least two), in their orders.
    plans = []
    for client_number in range(4):
        mine = payloads[client_number * 100 : client_number * 100 + 300] + payloads[:100]
        random.Random(client_number).shuffle(mine)
        plans.append(mine)
    statuses: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(plans))

    def send(batch: list[dict]) -> None:
        try:
            client = APIClient()
            client.credentials(**tenant.client._credentials)
            barrier.wait()
            for start in range(0, len(batch), 100):
                response = client.post(
                    "/events/bulk/", {"events": batch[start : start + 100]}, format="json"
                )
                statuses.append(response.status_code)
        except BaseException as exc:  # reported below, from the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(batch,)) for batch in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(statuses) == {202}
    with connection.cursor() as cursor:
        # The event table is not Django's to flush between tests: count this tenant's rows.
        cursor.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM metering_event WHERE workspace_id = %s",
            [tenant.workspace.id],
        )
        assert cursor.fetchone() == (600, 600)
    meter = meter_of(tenant, event_name="call-0", aggregation="sum", field="tokens")
    assert usage(tenant, meter, "c") == sum(e[0] for e in events)
