"""What every bench script does before Django starts: point it at a database of its own
(BENCH_DATABASE_URL, or the script's default on 127.0.0.1) and make sure that database
exists and is migrated."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def bench_environment(default_database: str, **settings: str) -> str:
    """Set the environment Django reads (the database, `settings` on top); the database URL.

    Called before `django.setup()`, since settings are read once, at setup."""
    database_url = os.environ.get(
        "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{default_database}"
    )
    # Keys made up for the run (the server refuses published ones with DEBUG off); in the
    # environment, so the workers a bench starts sign and verify with the same keys.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("JWT_SIGNING_KEY", secrets.token_urlsafe(50))
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        **settings,
    )
    return database_url


def ensure_database(database_url: str) -> None:
    """Create the database when missing, migrate it, and vacuum it where nothing else does.

    A bench database is filled run after run. Where the server runs without autovacuum,
    its tables keep their dead rows and are never analyzed, so each run would plan on
    stale statistics and read more than the last: vacuumed here, as autovacuum would.
    A fresh copy of a migrated template (BENCH_FRESH_DATABASE names it) needs neither.
    """
    if os.environ.get("BENCH_FRESH_DATABASE") == database_url:
        return
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": database_url},
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone() == ("off",):
            conn.execute("VACUUM (ANALYZE)")


def _admin_url(database_url: str) -> str:
    return database_url.rsplit("/", 1)[0] + "/postgres"


def template_of(database_url: str) -> str:
    """The URL of the migrated, empty database each fresh copy of `database_url` is made from."""
    return database_url + "_template"


def prepare_template(database_url: str) -> None:
    """Create and migrate the template of `database_url` (see `fresh_database`).

    Migrated again on every call, so the template follows new migrations; no connection
    stays open on it, since PostgreSQL copies only a template nobody is connected to."""
    ensure_database(template_of(database_url))


def fresh_database(database_url: str) -> None:
    """Replace `database_url`'s database with a copy of its migrated, empty template.

    A bench run on a copy starts from the same empty tables, statistics and files
    whatever earlier runs left, so its plans and figures do not drift with table size;
    copying a template takes a second where migrating from scratch takes a minute."""
    name = database_url.rsplit("/", 1)[1]
    template = template_of(database_url).rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop_database(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used so far, from /proc; None when it
    cannot be read (the process has exited, or runs on another host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
