"""Monthly partitions of the event table: the beat task creates the coming months, once,
and events land in their month's partition."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection

from metering.store import NewEvent, Tenant
from metering.store.partitions import partitions_ensure
from metering.store.postgres import PostgresEventStore

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


def test_the_coming_months_are_created_once():
    assert partitions_ensure(today=date(2030, 11, 20), months_ahead=2) == [
        "metering_event_2030_11", "metering_event_2030_12", "metering_event_2031_01"
    ]  # fmt: skip
    assert partitions_ensure(today=date(2030, 11, 20), months_ahead=2) == []


def test_an_event_lands_in_its_month_and_an_old_one_in_the_default():
    store = PostgresEventStore()
    events = [
        NewEvent("now", "call", "c", datetime(2026, 3, 31, 23, 59, tzinfo=UTC), {}),
        NewEvent("old", "call", "c", datetime(2019, 5, 1, tzinfo=UTC), {}),
    ]
    store.insert(tenant=Tenant("acc_p", False), events=events, received_at=datetime.now(UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id, tableoid::regclass::text FROM metering_event "
            "WHERE workspace_id = 'acc_p' ORDER BY event_id"
        )
        assert cursor.fetchall() == [
            ("now", "metering_event_2026_03"), ("old", "metering_event_default")
        ]  # fmt: skip
