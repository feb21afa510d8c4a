"""The one JSON encoder of every model JSONField (billing.models, each app's models).

Services put dates, datetimes and Decimals into JSON columns (a reference's date, an
agency's answer, an event's data, a workspace's tax settings parsed from a request whose
numbers are Decimals): they are stored as ISO dates and datetimes, and Decimals as JSON
number literals with every digit kept (jsonb numbers are exact), never as floats or
strings. A JSONField without it fails with a TypeError (a 500) on the first such value.
"""

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


class _NumberLiteral(str):
    """The JSON text of a Decimal, written as is where a string would be quoted."""


class JSONEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            if not o.is_finite():
                raise ValueError(f"{o} is not a JSON number.")
            return _NumberLiteral(o)
        return super().default(o)

    def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
        # The standard library's pure-Python encoder, with a string encoder that leaves
        # number literals unquoted; its C encoder writes every str subclass quoted.
        quote = (
            json.encoder.encode_basestring_ascii
            if self.ensure_ascii
            else json.encoder.encode_basestring
        )

        def encode_string(text: str) -> str:
            return str(text) if isinstance(text, _NumberLiteral) else quote(text)

        def encode_float(number: float) -> str:
            if not math.isfinite(number):
                raise ValueError(f"{number} is not a JSON number.")
            return float.__repr__(number)

        iterencode = json.encoder._make_iterencode(  # type: ignore[attr-defined]
            {} if self.check_circular else None,
            self.default,
            encode_string,
            self.indent,
            encode_float,
            self.key_separator,
            self.item_separator,
            self.sort_keys,
            self.skipkeys,
            _one_shot,
        )
        return iterencode(o, 0)
