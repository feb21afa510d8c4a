"""Text compared folded, case and accents aside (`Ñandú` as `nandu`), the same on
PostgreSQL and SQLite: `field__folded_contains=term` on any text column.

Each database folds with one table of Latin letters to their base letter (`translate`
on PostgreSQL, the same Python function registered on SQLite), and the term is folded
by it too, so both sides agree without an extension (unaccent) or a stored column.
"""

import unicodedata
from typing import Any

from django.db import models
from django.db.backends.signals import connection_created
from django.db.models.functions import Lower
from django.db.models.lookups import Contains
from django.dispatch import receiver


def _base_letter(char: str) -> str:
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    )
    return stripped.lower() if len(stripped) == 1 else char


# Latin-1 Supplement to Latin Extended-B: the accented letters of the languages written
# with them (á, ñ, ü, ç, ø is left as it is: it has no decomposition).
_ACCENTED = "".join(
    char for char in map(chr, range(0xC0, 0x250)) if _base_letter(char) != char.lower()
)
_BASES = "".join(_base_letter(char) for char in _ACCENTED)
_TABLE = str.maketrans(_ACCENTED, _BASES)
SQLITE_FUNCTION = "billing_fold"


def fold(text: str) -> str:
    return text.lower().translate(_TABLE)


class Fold(models.Func):
    function = SQLITE_FUNCTION
    arity = 1
    output_field = models.TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        folded = models.Func(
            Lower(self.source_expressions[0]),
            models.Value(_ACCENTED),
            models.Value(_BASES),
            function="TRANSLATE",
            output_field=models.TextField(),
        )
        return compiler.compile(folded)


@models.CharField.register_lookup
@models.TextField.register_lookup
class FoldedContains(Contains):
    lookup_name = "folded_contains"

    def __init__(self, lhs: Any, rhs: Any) -> None:
        super().__init__(Fold(lhs), fold(rhs) if isinstance(rhs, str) else rhs)

    def get_rhs_op(self, connection: Any, rhs: str) -> str:
        # The backends name their LIKE operators by the built-in lookup's name.
        return connection.operators["contains"] % rhs


@receiver(connection_created)
def _register_on_sqlite(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_FUNCTION,
            1,
            lambda text: None if text is None else fold(text),
            deterministic=True,
        )
