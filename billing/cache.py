"""Django's Redis cache, keeping one Redis client per connection pool.

Django's backend builds a new `redis.Redis` for every command, and building one fills its
table of ~170 response callbacks: a third of a millisecond of CPU per command, several
times per API request (authentication, the request budget). A client over a pool is
safe to reuse, and Django already keeps one cache object per thread.
"""

import contextlib
import os
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ResponseError


class _ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        # By pool: the process that took it, and a connection taken from the pool once.
        self._kept: dict[int, tuple[int, Any]] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own attributes, which its stubs do not declare.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(  # type: ignore[attr-defined]
                connection_pool=pool
            )
        return client

    def kept_connection(self) -> Any:
        """A connection of the write pool kept by this client (one per thread, as the
        cache object is) rather than taken from the pool and given back on every round
        trip, which costs as much CPU as the exchange itself. Taken again in a forked
        process, whose pool starts empty."""
        pool = self._get_connection_pool(True)  # type: ignore[attr-defined]
        pid = os.getpid()
        kept = self._kept.get(id(pool))
        if kept is None or kept[0] != pid:
            kept = self._kept[id(pool)] = (pid, pool.get_connection())
        return kept[1]


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


def _command(*parts: str | int) -> bytes:
    """One command in Redis's protocol (RESP), as redis-py would write it."""
    packed = [b"*%d\r\n" % len(parts)]
    for part in parts:
        text = str(part).encode()
        packed.append(b"$%d\r\n%s\r\n" % (len(text), text))
    return b"".join(packed)


def authentication_commands(
    read_key: str, hold: tuple[str, int, int] | None, count: tuple[str, int] | None
) -> tuple[bytes, int]:
    """The commands of `cache_authentication_round_trip` (full keys), packed as `_command`
    packs them, and how many there are. Written as one text, encoded once, when it is
    ASCII (as keys of hex digests, numbers and addresses are): packing each part as bytes
    costs three times as much."""
    text = f"*2\r\n$3\r\nGET\r\n${len(read_key)}\r\n{read_key}\r\n"
    if hold is not None:
        key, value, seconds = hold
        value_text, seconds_text = str(value), str(seconds)
        text += (
            f"*7\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n${len(value_text)}\r\n{value_text}"
            f"\r\n$2\r\nNX\r\n$2\r\nEX\r\n${len(seconds_text)}\r\n{seconds_text}\r\n"
            "$3\r\nGET\r\n"
        )
    if count is not None:
        key, seconds_text = count[0], str(count[1])
        text += (
            f"*2\r\n$4\r\nINCR\r\n${len(key)}\r\n{key}\r\n*4\r\n$6\r\nEXPIRE\r\n"
            f"${len(key)}\r\n{key}\r\n${len(seconds_text)}\r\n{seconds_text}\r\n$2\r\nNX\r\n"
        )
    commands = 1 + (hold is not None) + 2 * (count is not None)
    if text.isascii():  # a character is a byte: the lengths above are the bytes'
        return text.encode(), commands
    packed = [_command("GET", read_key)]
    if hold is not None:
        packed.append(_command("SET", hold[0], hold[1], "NX", "EX", hold[2], "GET"))
    if count is not None:
        packed += [_command("INCR", count[0]), _command("EXPIRE", count[0], count[1], "NX")]
    return b"".join(packed), commands


def _round_trip(cache: ReusedClientRedisCache, commands: list[bytes]) -> list[Any]:
    """Send `commands` in one write and read their replies (`_exchange`)."""
    return _exchange(cache, b"".join(commands), len(commands))


def _exchange(cache: ReusedClientRedisCache, packed: bytes, commands: int) -> list[Any]:
    """Send `commands` packed commands in one write on the cache client's kept connection
    and read their replies, retried as redis-py retries a pipeline. redis-py's pipeline
    does the same with about 0.15 ms of CPU around it, more than the exchange costs."""
    connection = cache._cache.kept_connection()  # type: ignore[attr-defined]

    def send_and_read() -> list[Any]:
        try:
            connection.send_packed_command([packed])
            replies = []
            for _ in range(commands):
                try:
                    replies.append(connection.read_response())
                except ResponseError as error:  # every reply is read: the connection stays usable
                    replies.append(error)
        except BaseException:
            # Replies may be left unread: the next round trip starts on a new socket.
            connection.disconnect()
            raise
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    replies: list[Any] = connection.retry.call_with_retry(
        send_and_read, lambda error: connection.disconnect()
    )
    return replies


def cache_authentication_round_trip(
    read_key: str, *, hold: tuple[str, int, int] | None, count: tuple[str, int] | None
) -> tuple[Any, Any, int | None]:
    """What authenticating a request reads and writes, in one round trip on Redis:

    - the value at `read_key` (None when absent);
    - with `hold` (key, value, seconds): the value held at that key, which is `value`,
      stored for `seconds`, when the key held nothing;
    - with `count` (key, seconds): the counter at that key after adding one, created with
      `seconds` to live, as `cache_count`.
    """
    cache = caches["default"]
    if not isinstance(cache, ReusedClientRedisCache):
        held = None
        if hold is not None:
            hold_key, value, seconds = hold
            added = cache.add(hold_key, value, timeout=seconds)
            held = value if added else cache.get(hold_key, value)
        counted = None if count is None else cache_count(count[0], timeout=count[1])
        return cache.get(read_key), held, counted
    # Keys as Django's backend makes them, without its check for keys memcached would
    # refuse, which only warns and costs more than the rest of the key's making.
    packed, commands = authentication_commands(
        cache.make_key(read_key),
        None if hold is None else (cache.make_key(hold[0]), hold[1], hold[2]),
        None if count is None else (cache.make_key(count[0]), count[1]),
    )
    replies = iter(_exchange(cache, packed, commands))
    loads = cache._cache._serializer.loads  # type: ignore[attr-defined]
    read = next(replies)
    found = None if read is None else loads(read)
    held = None
    if hold is not None:
        previous = next(replies)
        held = hold[1] if previous is None else loads(previous)
    counted = None if count is None else int(next(replies))
    return found, held, counted


def cache_uncount(key: str) -> None:
    """Take back one `cache_count(key)`."""
    # Expired meanwhile (ValueError): nothing is left to take back.
    with contextlib.suppress(ValueError):
        caches["default"].decr(key)
