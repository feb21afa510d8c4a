"""billing.db's cursor for statements with a large parameter."""

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from billing.db import server_bound_cursor

pytestmark = pytest.mark.django_db


def test_a_server_bound_cursor_reads_its_parameters_back_as_sent():
    text = 'it\'s \\ a "quoted" ñ ' * 1000
    with server_bound_cursor() as cursor:
        cursor.execute("SELECT %s::text, %s::jsonb ->> 'k'", [text, '{"k": "v"}'])
        assert cursor.fetchone() == (text, "v")


def test_a_server_bound_cursor_is_logged_like_any_other():
    with CaptureQueriesContext(connection) as captured, server_bound_cursor() as cursor:
        cursor.execute("SELECT %s::int", [7])
    assert len(captured.captured_queries) == 1


def test_a_server_bound_cursor_raises_django_errors():
    with server_bound_cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE db_test (id int PRIMARY KEY)")
        with pytest.raises(IntegrityError):
            cursor.execute("INSERT INTO db_test VALUES (%s), (%s)", [1, 1])
