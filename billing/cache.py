"""Django's Redis cache, keeping one Redis client per connection pool.

Django's backend builds a new `redis.Redis` for every command, and building one fills its
table of ~170 response callbacks: a third of a millisecond of CPU per command, several
times per API request (authentication, the request budget). A client over a pool is
safe to reuse, and Django already keeps one cache object per thread.
"""

from typing import Any

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
