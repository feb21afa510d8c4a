"""The test suite's settings: the production settings, with signing keys made up for
this run when the environment gives none. They go into the environment, so the Celery
workers the tests start (tests/workers.py) sign and verify with the same keys and pass
the startup check on them."""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("JWT_SIGNING_KEY", secrets.token_urlsafe(50))

from config.settings import *  # noqa: F403

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
