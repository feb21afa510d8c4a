"""The server's settings with the read benchmark's URLconf (bench/urls.py), which adds
the bare baseline view; nothing else differs from production."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Its own cache keys, so counters another process keeps on the same Redis (failed logins
# from a test run, request budgets) never throttle the benchmark.
CACHES["default"]["KEY_PREFIX"] = "bench-read"  # noqa: F405
