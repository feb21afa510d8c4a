"""The service's single pass answers and stores exactly what the plain way does
(metering/tests/reference_ingest.py), byte for byte, over varied batches: valid events,
invalid ones of each kind, duplicates within a batch and of earlier batches, known,
unknown and invoiced customers, future and late timestamps, decimals in properties."""

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing.encoders import json_bytes
from catalog.tests.factories import PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import InvoiceFactory
from metering.api.answers import ingest_answer
from metering.services.events import events_ingest
from metering.tests.reference_ingest import reference_ingest
from subscriptions import services
from subscriptions.models import BilledPeriod

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
_LATEST = NOW + timedelta(seconds=settings.EVENTS_MAX_FUTURE_SECONDS)


@pytest.fixture
def arranged(tenant):
    """A customer known by id and reference, one whose January is invoiced, and two
    events stored by an earlier batch."""
    workspace = tenant.workspace
    workspace.timezone = "America/Santiago"
    workspace.save(update_fields=["timezone"])
    CustomerFactory(workspace=workspace, id="cus_plain", reference="crm-a")
    billed = CustomerFactory(workspace=workspace, id="cus_billed")
    plan = PlanFactory(workspace=workspace, test_mode=False, amount=Decimal(100))
    subscription = services.subscription_create(
        workspace=workspace, test_mode=False, customer=billed,
        lines=[{"plan": plan, "quantity": Decimal(1)}], now=datetime(2026, 1, 1, 12, tzinfo=UTC),
    )  # fmt: skip
    BilledPeriod.objects.create(
        subscription=subscription, cycle=2, period_start=date(2026, 2, 1),
        period_end=date(2026, 3, 1), invoice=InvoiceFactory(workspace=workspace, customer=billed),
    )  # fmt: skip
    earlier = [
        {"event_id": f"old-{n}", "event_name": "api_call", "customer": "cus_plain"} for n in (1, 2)
    ]
    events_ingest(workspace=workspace, test_mode=False, events=earlier, now=NOW)
    return tenant


# Per field: values it accepts, then values it refuses.
_IDS = (["e1", "e2", "e3", "old-1", "old-2", " e4 ", "é5", 'q"6\\', "x" * 255],
        ["", " ", "\u00a0", None, 7, ["e1"], "x" * 256])  # fmt: skip
_NAMES = (["api_call", "tokens", "n" * 255], ["", "\t", None, 3, "n" * 256])
_CUSTOMERS = (["cus_plain", "crm-a", "cus_billed", "nobody-yet", "crm-a ", "c" * 64],
              ["", " ", None, 1, "c" * 65])  # fmt: skip
# The billed customer's invoiced span is [Jan 1, Feb 1) in Santiago (UTC-3 in summer).
_TIMESTAMPS = (
    ["2026-01-10T12:00:00Z", "2025-12-31T23:59:59-03:00", "2026-01-01T00:00:00-03:00",
     "2026-01-31T23:59:59-03:00", "2026-02-01T00:00:00-03:00", "2026-02-20T00:00:00+03:00",
     "2025-12-20T00:00:00Z", _LATEST.isoformat(), "2000-01-01T00:00:00+00:00", None,
     "2026-01-10 12:00", "2026-01-10", "2026-02-01T00:00:00"],  # no offset: Santiago's time
    [(_LATEST + timedelta(seconds=1)).isoformat(), "2099-01-01T00:00:00Z",
     "1999-12-31T23:59:59+00:00", "tomorrow", "",
     1767225600, ["2026-01-10T12:00:00Z"]],
)  # fmt: skip
_PROPERTIES = (
    [None, {}, {"tokens": 3}, {"tokens": Decimal("1.50")}, {"tokens": 1.5},
     {"tokens": Decimal("12345678901234567.89"), "model": "a"}, {"deep": {"list": [1, "x", None]}}],
    [[1], "text", 0],
)  # fmt: skip
_FIELDS = {"event_id": _IDS, "event_name": _NAMES, "customer": _CUSTOMERS,
           "timestamp": _TIMESTAMPS, "properties": _PROPERTIES}  # fmt: skip


@st.composite
def _events(draw: Any) -> Any:
    """Mostly well-formed events; a field refused, missing or unknown now and then."""
    if draw(st.integers(0, 15)) == 0:
        return draw(st.sampled_from(["not an object", None, [1], 3, True]))
    event = {}
    for name, (accepted, refused) in _FIELDS.items():
        roll = draw(st.integers(0, 19))
        if roll == 0:
            continue
        event[name] = draw(st.sampled_from(refused if roll == 1 else accepted))
    if draw(st.integers(0, 10)) == 0:
        event[draw(st.sampled_from(["colour", "zeta", "alpha"]))] = "blue"
    return event


@st.composite
def _complete_events(draw: Any) -> Any:
    """Events with all five fields accepted, as most batches are; one refused now and then."""
    event = {
        name: draw(st.sampled_from([value for value in accepted if value is not None]))
        for name, (accepted, _) in _FIELDS.items()
    }
    if draw(st.integers(0, 40)) == 0:
        name = draw(st.sampled_from(sorted(_FIELDS)))
        event[name] = draw(st.sampled_from(_FIELDS[name][1]))
    return event


def _stored(tenant: Any) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, event_name, customer_key, timestamp, properties::text, "
            "received_at FROM metering_event WHERE workspace_id = %s ORDER BY event_id",
            [tenant.workspace.id],
        )
        return cursor.fetchall()


def _rolled_back(tenant: Any, ingest: Any) -> tuple[bytes, list[tuple]]:
    """The answer's bytes and the tenant's stored rows, then everything undone."""
    with transaction.atomic():
        answer = ingest()
        rows = _stored(tenant)
        transaction.set_rollback(True)
    return answer, rows


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.one_of(
        st.lists(_events(), min_size=1, max_size=25),
        st.lists(_complete_events(), min_size=1, max_size=40),
    )
)
def test_the_single_pass_answers_and_stores_as_the_plain_way(arranged, events):
    workspace = arranged.workspace
    expected = _rolled_back(arranged, lambda: json_bytes(reference_ingest(
        workspace=workspace, test_mode=False, events=copy.deepcopy(events), now=NOW,
    )))  # fmt: skip
    for kept in (False, True):
        answer = _rolled_back(arranged, lambda kept=kept: json_bytes(ingest_answer(events_ingest(
            workspace=workspace, test_mode=False, events=copy.deepcopy(events), now=NOW,
        ), kept=kept)))  # fmt: skip
        assert answer == expected


def test_the_bulk_route_answers_with_the_plain_way_s_bytes(arranged):
    events = [
        {"event_id": "e1", "event_name": "api_call", "customer": "crm-a",
         "timestamp": "2026-02-20T00:00:00Z", "properties": {"tokens": 1.25}},
        {"event_id": "e2", "event_name": "api_call", "customer": "cus_billed",
         "timestamp": "2026-02-10T00:00:00Z"},
        {"event_id": "e1", "event_name": "api_call", "customer": "nobody-yet"},
        {"event_id": "old-1", "event_name": "api_call", "customer": "cus_plain"},
        {"event_id": "e3", "event_name": "api_call", "customer": "nobody-yet", "colour": 1},
        {"event_id": "e4", "event_name": "api_call", "customer": "nobody-yet",
         "timestamp": "2099-01-01T00:00:00Z"},
        "not an object",
    ]  # fmt: skip

    def reference():
        return json_bytes(reference_ingest(
            workspace=arranged.workspace, test_mode=False, events=copy.deepcopy(events), now=NOW,
        ))  # fmt: skip

    def post(**headers):
        with time_machine.travel(NOW, tick=False):
            return arranged.client.post("/events/bulk/", {"events": events}, format="json",
                                        **headers)  # fmt: skip

    expected, expected_rows = _rolled_back(arranged, reference)
    response = post()
    assert response.status_code == 202
    assert response.content == expected
    assert _stored(arranged) == expected_rows
    # Under an Idempotency-Key the answer is kept as data: the same bytes, and replayed.
    expected_again, _ = _rolled_back(arranged, reference)
    keyed = post(HTTP_IDEMPOTENCY_KEY="k1")
    replayed = post(HTTP_IDEMPOTENCY_KEY="k1")
    assert keyed.status_code == replayed.status_code == 202
    assert keyed.content == expected_again
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == keyed.json()
    assert keyed.json()["duplicate"] == 4


@pytest.mark.parametrize(
    "event",
    [
        {"event_id": "e1", "event_name": "api_call", "customer": "cus_billed",
         "timestamp": "2026-01-20T00:00:00Z", "properties": {"tokens": 2}},
        {"event_id": "old-2", "event_name": "api_call", "customer": "crm-a"},
        {"event_id": 'q"1', "event_name": "api_call", "customer": "nobody-yet",
         "properties": {"tokens": 1.5}},
    ],
    ids=["late", "duplicate", "unknown-customer"],
)  # fmt: skip
def test_the_single_event_route_answers_with_the_plain_way_s_bytes(arranged, event):
    expected, expected_rows = _rolled_back(arranged, lambda: json_bytes(reference_ingest(
        workspace=arranged.workspace, test_mode=False, events=[copy.deepcopy(event)], now=NOW,
    )))  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        response = arranged.client.post("/events/", event, format="json")
    assert response.status_code == 202
    assert response.content == expected
    assert _stored(arranged) == expected_rows
