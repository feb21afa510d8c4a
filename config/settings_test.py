"""The test suite's settings: the production settings, with signing keys made up for
this run when the environment gives none. They go into the environment, so the Celery
workers the tests start (tests/workers.py) sign and verify with the same keys and pass
the startup check on them."""

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("JWT_SIGNING_KEY", secrets.token_urlsafe(50))

# Under pytest-xdist (`make test` runs two workers) each worker process has Redis databases
# of its own, so one never clears another's: the cache's (throttle tests clear it) and the
# test broker's (tests/workers.py flushes it before starting a Celery worker). Set in the
# environment, they also reach the workers and web servers the tests start. The first
# worker keeps the databases configured, as a run without xdist does.
_XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def _redis_database(url: str, offset: int) -> str:
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + offset
    if not 0 <= database <= 15:
        raise RuntimeError(f"no Redis database {database} for xdist worker {_XDIST_INDEX}")
    return urlunsplit(parts._replace(path=f"/{database}"))


if _XDIST_INDEX:
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = _redis_database(os.environ["REDIS_URL"], _XDIST_INDEX)
    broker = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    # Downwards from the broker's database, away from the cache's, which counts up.
    os.environ["TEST_CELERY_BROKER_URL"] = _redis_database(broker, -_XDIST_INDEX)
    if os.environ["TEST_CELERY_BROKER_URL"] == os.environ.get("REDIS_URL"):
        raise RuntimeError(f"xdist worker {_XDIST_INDEX}: too many workers for 16 Redis databases")
    first_port = int(os.environ.get("FAULTS_FIRST_PORT", "8160"))
    os.environ["FAULTS_FIRST_PORT"] = str(first_port + 100 * _XDIST_INDEX)

from config.settings import *  # noqa: E402, F403

# Suites that send bad credentials to every route, or drive one checkout through many
# steps, would trip the production limits; the tests of those limits set small ones
# (billing/tests/test_auth_throttling.py, payments/tests/test_publishable.py).
AUTH_FAILURE_RATE = "100000/min"
PUBLISHABLE_KEY_RATE = "100000/min"
PUBLISHABLE_ADDRESS_RATE = "100000/min"

# Tests count a request's queries and compare one request with the next; the cache of API
# keys would make the first cost more than the rest. Its own tests turn it on
# (billing/tests/test_auth_cache.py).
API_KEY_CACHE_SECONDS = 0
