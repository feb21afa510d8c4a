"""Public identifiers: a short prefix naming the resource and a ULID (`cus_01J…`).

ULIDs are unguessable enough for ids and sort by creation time, which gives lists a
stable tie-breaker for free.
"""

import secrets
import time

from django.db import models
from django.utils.deconstruct import deconstructible
from ulid import ULID

PUBLIC_ID_MAX_LENGTH = 40

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two base-32 digits at a time: ten bits per lookup.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_RANDOM_BITS = 80


@deconstructible
class PrefixedUlid:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return f"{self.prefix}_{ULID()}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrefixedUlid) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)


def public_id_field(prefix: str) -> models.CharField:
    return models.CharField(
        primary_key=True,
        max_length=PUBLIC_ID_MAX_LENGTH,
        default=PrefixedUlid(prefix),
        editable=False,
    )


def _base32(value: int, digits: int) -> str:
    pairs = []
    for _ in range(digits // 2):
        pairs.append(_PAIRS[value & 0x3FF])
        value >>= 10
    return "".join(reversed(pairs))


def public_ids(prefix: str, count: int) -> list[str]:
    """`count` new ids of one kind at once, for batch writers (billing cycles).

    One timestamp and one random draw for the batch; the random part then counts up, as
    ULID's monotonic generator does within a millisecond, so the ids sort in the order
    they were made and stay unguessable from outside the batch."""
    if count <= 0:
        return []
    head = f"{prefix}_{_base32(time.time_ns() // 1_000_000, 10)}"
    start = secrets.randbelow((1 << _RANDOM_BITS) - count)
    # Counting up changes the last two digits from one id to the next, and the fourteen
    # before them once in 1,024 ids: those are written once per run of ids that share them.
    ids: list[str] = []
    value, end = start, start + count
    while value < end:
        low = value & 0x3FF
        run = min(len(_PAIRS) - low, end - value)
        shared = head + _base32(value >> 10, 14)
        ids += [shared + pair for pair in _PAIRS[low : low + run]]
        value += run
    return ids
