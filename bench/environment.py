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
    """
    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SHOW autovacuum").fetchone() == ("off",):
            conn.execute("VACUUM (ANALYZE)")
