"""The cache counter the request budget uses and authentication's round trip
(billing/cache.py)."""

import os
import time

import pytest
from django.core.cache import cache, caches

from billing.cache import (
    _command,
    authentication_commands,
    cache_authentication_round_trip,
    cache_count,
)


def test_a_counter_counts_up_from_one_and_lives_for_its_timeout():
    key = f"count-test:{time.time_ns()}"

    counts = [cache_count(key, timeout=2) for _ in range(3)]

    assert counts == [1, 2, 3]
    assert cache.get(key) == 3
    time.sleep(2.2)
    assert cache.get(key) is None
    assert cache_count(key, timeout=2) == 1


BACKENDS = {
    "local memory": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Its own commands in one write, where every other backend makes one call after another.
    "redis": {
        "BACKEND": "billing.cache.ReusedClientRedisCache",
        "LOCATION": os.environ.get("REDIS_URL"),
    },
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_authentication_round_trip_reads_holds_and_counts_alike_on_every_backend(
    backend, settings
):
    if BACKENDS[backend].get("LOCATION", "") is None:
        pytest.skip("REDIS_URL names no Redis")
    settings.CACHES = {"default": BACKENDS[backend]}
    prefix = f"round-trip-test:{time.time_ns()}"
    read, stamp, counter = f"{prefix}:read", f"{prefix}:stamp", f"{prefix}:count"
    cache.set(read, 7)

    first = cache_authentication_round_trip(read, hold=(stamp, 11, 1), count=(counter, 1))
    second = cache_authentication_round_trip(read, hold=(stamp, 12, 1), count=(counter, 1))
    neither = cache_authentication_round_trip(f"{prefix}:absent", hold=None, count=None)

    assert (first, second, neither) == ((7, 11, 1), (7, 11, 2), (None, None, None))
    assert (cache.get(stamp), cache.get(counter)) == (11, 2)
    time.sleep(1.2)
    assert (cache.get(stamp), cache.get(counter)) == (None, None)
    assert cache_authentication_round_trip(read, hold=(stamp, 13, 1), count=(counter, 1)) == (
        7,
        13,
        1,
    )


@pytest.fixture
def on_redis(settings):
    """The default cache on the Redis REDIS_URL names."""
    if BACKENDS["redis"]["LOCATION"] is None:
        pytest.skip("REDIS_URL names no Redis")
    settings.CACHES = {"default": BACKENDS["redis"]}


def test_a_round_trip_cut_off_between_replies_leaves_none_for_the_next(on_redis):
    prefix = f"cut-off-test:{time.time_ns()}"
    cache.set(f"{prefix}:read", 7)
    cache.set(f"{prefix}:other", 8)
    connection = caches["default"]._cache.kept_connection()
    read_response = connection.read_response
    replies_read = []

    def read_one_then_fail(*args, **kwargs):
        if replies_read:
            raise KeyboardInterrupt  # what a timeout or a signal may do mid-read
        replies_read.append(read_response(*args, **kwargs))
        return replies_read[-1]

    connection.read_response = read_one_then_fail
    with pytest.raises(KeyboardInterrupt):
        cache_authentication_round_trip(
            f"{prefix}:read", hold=(f"{prefix}:stamp", 11, 5), count=(f"{prefix}:count", 5)
        )
    del connection.read_response

    assert cache_authentication_round_trip(f"{prefix}:other", hold=None, count=None) == (
        8,
        None,
        None,
    )


@pytest.mark.parametrize("key", ["auth-failures:10.0.0.1:29733333", "auth-failures:añejo:1"])
@pytest.mark.parametrize("hold", [None, ("api-key:ab12", 4611686018427387903, 5)])
@pytest.mark.parametrize("count", [None, ("throttle_token_user:1:7:29733333", 61)])
def test_the_authentication_commands_are_packed_as_each_command_alone(key, hold, count):
    alone = [_command("GET", key)]
    if hold is not None:
        alone.append(_command("SET", hold[0], hold[1], "NX", "EX", hold[2], "GET"))
    if count is not None:
        alone += [_command("INCR", count[0]), _command("EXPIRE", count[0], count[1], "NX")]

    assert authentication_commands(key, hold, count) == (b"".join(alone), len(alone))


def test_a_key_that_is_not_ascii_is_read_held_and_counted(on_redis):
    prefix = f"añejo-test:{time.time_ns()}"
    cache.set(f"{prefix}:read", 7)

    found = cache_authentication_round_trip(
        f"{prefix}:read", hold=(f"{prefix}:ståmp", 11, 5), count=(f"{prefix}:cöunt", 5)
    )

    assert found == (7, 11, 1)
    assert (cache.get(f"{prefix}:ståmp"), cache.get(f"{prefix}:cöunt")) == (11, 1)
