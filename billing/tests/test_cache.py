"""The cache counter the request budget uses (billing/cache.py)."""

import time

from django.core.cache import cache

from billing.cache import cache_count


def test_a_counter_counts_up_from_one_and_lives_for_its_timeout():
    key = f"count-test:{time.time_ns()}"

    counts = [cache_count(key, timeout=2) for _ in range(3)]

    assert counts == [1, 2, 3]
    assert cache.get(key) == 3
    time.sleep(2.2)
    assert cache.get(key) is None
    assert cache_count(key, timeout=2) == 1
