"""The server's URLs plus the read benchmark's baselines, which answer the bytes in the
file named by BENCH_READ_BODY_FILE. They exist only here, never in the server's own
URLconf.

- `/bench/bare/`: a bare Django view, through the server's middleware.
- `/bench/floor/`: the bare view plus what any design of the invoice's detail read must
  do per request: one round trip to the cache (authentication needs one) and one
  trivial prepared query to PostgreSQL (the invoice lives there), both made as the API
  makes them. What separates the API from the floor is its own cost; what separates
  the floor from the bare view no design can save.
"""

import os
from pathlib import Path

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest, HttpResponse
from django.urls import path

from billing.cache import ReusedClientRedisCache, _command, _round_trip
from billing.compiled_reads import _run_together
from config import urls as server_urls

_BODY = Path(os.environ["BENCH_READ_BODY_FILE"]).read_bytes()


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_BODY, content_type="application/json")


# Prepared once per database session and run with EXECUTE, as a compiled read is.
_FLOOR_QUERY = ("SELECT %s::integer", [1])


def floor(request: HttpRequest) -> HttpResponse:
    cache = caches["default"]
    if isinstance(cache, ReusedClientRedisCache):
        _round_trip(cache, [_command("GET", cache.make_key("bench-floor"))])
    else:
        cache.get("bench-floor")
    _run_together(DEFAULT_DB_ALIAS, [_FLOOR_QUERY])
    return HttpResponse(_BODY, content_type="application/json")


# Before the server's catch-all 404.
urlpatterns = [
    path("bench/bare/", bare),
    path("bench/floor/", floor),
    *server_urls.urlpatterns,
]
handler400 = server_urls.handler400
handler500 = server_urls.handler500
