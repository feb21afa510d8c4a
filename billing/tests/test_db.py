"""billing.db's cursor for statements with a large parameter, and column values for
statements written by hand."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from billing.db import column_value, server_bound_cursor
from billing.models import Event

pytestmark = pytest.mark.django_db


@pytest.mark.postgresql
def test_a_server_bound_cursor_reads_its_parameters_back_as_sent():
    text = 'it\'s \\ a "quoted" ñ ' * 1000
    with server_bound_cursor() as cursor:
        cursor.execute("SELECT %s::text, %s::jsonb ->> 'k'", [text, '{"k": "v"}'])
        assert cursor.fetchone() == (text, "v")


@pytest.mark.postgresql
def test_a_server_bound_cursor_is_logged_like_any_other():
    with CaptureQueriesContext(connection) as captured, server_bound_cursor() as cursor:
        cursor.execute("SELECT %s::int", [7])
    assert len(captured.captured_queries) == 1


def test_a_server_bound_cursor_raises_django_errors():
    with server_bound_cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE db_test (id int PRIMARY KEY)")
        with pytest.raises(IntegrityError):
            cursor.execute("INSERT INTO db_test VALUES (%s), (%s)", [1, 1])


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_read_prepared_before_a_column_changed_type_is_prepared_again():
    """A migration that changes a selected column's type while a process runs: the read
    it prepared before is refused by PostgreSQL, then prepared anew and answered."""
    from billing.compiled_reads import _execute

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE stale_read (x integer)")
        cursor.execute("INSERT INTO stale_read VALUES (7)")
    statements = [("SELECT x FROM stale_read LIMIT %s", [5])]
    assert _execute("default", statements) == [[(7,)]]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE stale_read ALTER COLUMN x TYPE text")
    assert _execute("default", statements) == [[("7",)]]


_JSON_VALUES = [
    {"total": Decimal("118.500000"), "big": Decimal("1E+2"), "tiny": Decimal("0.000001"),
     "zero": Decimal("-0"), "when": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo("UTC")),
     "day": date(2026, 2, 28), "text": 'Año "ñandú" \\ \u2028', "count": 3, "huge": 2**70,
     "none": None, "yes": True, "list": [1, Decimal("2.5"), [], {}]},
    [],
    {},
    "plain text",
    Decimal("19"),
]  # fmt: skip


@pytest.mark.postgresql
@pytest.mark.parametrize("value", _JSON_VALUES)
def test_a_json_column_value_is_the_jsonb_django_writes(value):
    field = Event._meta.get_field("data")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::jsonb::text, %s::jsonb::text",
            [column_value(field, value, connection), field.get_db_prep_save(value, connection)],
        )
        ours, djangos = cursor.fetchone()

    assert ours == djangos


def test_a_column_value_other_than_json_is_djangos():
    field = Event._meta.get_field("created_at")
    now = datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("UTC"))

    assert column_value(field, now, connection) == field.get_db_prep_save(now, connection)
    assert column_value(Event._meta.get_field("data"), None, connection) is None


ODD_TEXTS = ["it's", "back\\slash", "100%", "%s", "ñandú", "", "E'x'", "a;b--c"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("text", ODD_TEXTS)
def test_a_prepared_read_with_its_values_written_in_its_text_answers_as_bound(text):
    """A prepared read's EXECUTE carries its values as literals; it answers what the same
    SQL with bound parameters answers, alone and with a statement that is not prepared."""
    from decimal import Decimal

    from billing.compiled_reads import _execute

    sql = "SELECT %s::text, %s::int, %s::numeric, %s::bool, %s::text || 'x'"
    params = [text, 7, Decimal("-0.50"), True, text]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        bound = cursor.fetchall()
    # A literal `%` keeps a statement from being prepared: it runs with bound parameters.
    unprepared = ("SELECT %s::text WHERE '%%' = '%%'", [text])

    prepared = [_execute("default", [(sql, params)]) for _ in range(2)]
    together = _execute("default", [(sql, params), unprepared, (sql, params)])

    assert prepared == [[bound], [bound]]
    assert together == [bound, [(text,)], bound]
