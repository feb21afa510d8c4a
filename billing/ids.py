"""Public identifiers: a short prefix naming the resource and a ULID (`cus_01J…`).

ULIDs are unguessable enough for ids and sort by creation time, which gives lists a
stable tie-breaker for free.
"""

from django.db import models
from django.utils.deconstruct import deconstructible
from ulid import ULID

PUBLIC_ID_MAX_LENGTH = 40


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
