"""Django's Redis cache, keeping one Redis client per connection pool.

Django's backend builds a new `redis.Redis` for every command, and building one fills its
table of ~170 response callbacks: a third of a millisecond of CPU per command, several
times per API request (authentication, the request budget). A client over a pool is
safe to reuse, and Django already keeps one cache object per thread.
"""

import contextlib
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own attributes, which its stubs do not declare.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(  # type: ignore[attr-defined]
                connection_pool=pool
            )
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusedClientRedisCacheClient


def cache_count(key: str, *, timeout: int) -> int:
    """Add one to the counter at `key` (created with `timeout` seconds to live) and return
    it: one round trip on Redis (INCR and EXPIRE pipelined), add-then-incr elsewhere."""
    cache = caches["default"]  # the backend itself (`django.core.cache.cache` is a proxy)
    if isinstance(cache, ReusedClientRedisCache):
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)
        pipeline = client.pipeline(transaction=False)
        pipeline.incr(full_key)
        pipeline.expire(full_key, timeout, nx=True)
        count, _ = pipeline.execute()
        return int(count)
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this is the first of a new one
        cache.add(key, 1, timeout=timeout)
        return 1


def cache_read_and_count(keys: list[str], count_key: str, *, timeout: int) -> tuple[dict, int]:
    """`cache.get_many(keys)` and `cache_count(count_key)`: on Redis in one round trip."""
    cache = caches["default"]
    if not isinstance(cache, ReusedClientRedisCache):
        return cache.get_many(keys), cache_count(count_key, timeout=timeout)
    full_keys = [cache.make_and_validate_key(key) for key in keys]
    full_count_key = cache.make_and_validate_key(count_key)
    client = cache._cache.get_client(full_count_key, write=True)
    pipeline = client.pipeline(transaction=False)
    pipeline.mget(full_keys)
    pipeline.incr(full_count_key)
    pipeline.expire(full_count_key, timeout, nx=True)
    values, count, _ = pipeline.execute()
    loads = cache._cache._serializer.loads  # type: ignore[attr-defined]
    found = {
        key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None
    }
    return found, int(count)


def cache_uncount(key: str) -> None:
    """Take back one `cache_count(key)`."""
    # Expired meanwhile (ValueError): nothing is left to take back.
    with contextlib.suppress(ValueError):
        caches["default"].decr(key)
