"""`make bench` runs each script on a fresh copy of a migrated template
(bench/environment.py): what one script wrote is gone before the next starts, and the
template itself never changes. Checked here on a small template of one table, since
migrating a template from scratch takes a minute."""

import psycopg
import pytest
from django.db import connection

from bench.environment import drop_database, ensure_database, fresh_database, template_of
from tests.workers import _database_url

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT n FROM kept ORDER BY n").fetchall()


@pytest.fixture
def run_url():
    url = _database_url() + "_benchrun"
    template = template_of(url)
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = template.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(template, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (1)")
    yield url
    drop_database(url)
    drop_database(template)


def test_a_fresh_copy_drops_what_the_last_run_wrote_and_keeps_the_template(run_url):
    fresh_database(run_url)
    with psycopg.connect(run_url, autocommit=True) as conn:
        conn.execute("INSERT INTO kept VALUES (2)")
    assert _rows(run_url) == [(1,), (2,)]

    fresh_database(run_url)

    assert _rows(run_url) == [(1,)]
    assert _rows(template_of(run_url)) == [(1,)]


def test_a_connection_left_open_does_not_stop_the_next_copy(run_url):
    fresh_database(run_url)
    left_open = psycopg.connect(run_url, autocommit=True)
    left_open.execute("INSERT INTO kept VALUES (3)")

    fresh_database(run_url)

    left_open.close()
    assert _rows(run_url) == [(1,)]


def test_drop_database_removes_the_copy(run_url):
    fresh_database(run_url)

    drop_database(run_url)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", [run_url.rsplit("/", 1)[1]]
        )
        assert cursor.fetchone() == (0,)


def test_ensure_database_leaves_a_fresh_copy_as_it_is(run_url, monkeypatch):
    fresh_database(run_url)
    monkeypatch.setenv("BENCH_FRESH_DATABASE", run_url)

    ensure_database(run_url)

    with psycopg.connect(run_url) as conn:
        tables = conn.execute("SELECT to_regclass('django_migrations')").fetchone()
    assert tables == (None,)
