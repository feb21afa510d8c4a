"""Request input the database cannot store is refused with a 400 before any query runs.

PostgreSQL refuses U+0000 in text and jsonb, and no database driver can encode a lone
UTF-16 surrogate (`"\\ud800"`, which JSON allows) as UTF-8. DRF's CharField already
refuses both in values; this covers the rest of a body (object keys, free-form objects
such as metadata and tax settings). A number too large for a float (`1e400`) parses as
infinity, which jsonb and the strict JSON renderer refuse; one with more decimal places
than PostgreSQL's numeric holds (`1e-20000`) would be refused by jsonb. Nesting is capped, which
Python's JSON decoder and PostgreSQL's jsonb would otherwise answer with a recursion or
stack-depth error.

Numbers with a fraction or an exponent parse as Decimal, not float, so that an amount sent
as the JSON number `12345678901234567.89` reaches its DecimalField with every digit (a
float keeps about 16) and a value with more digits or decimals than the column stores is
refused by the field (400) instead of rounded on the way in. Integers stay ints. Free-form
objects keep them as numbers: model JSONFields write Decimals as number literals
(billing.encoders).
"""

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
MAX_DECIMAL_PLACES = 16383
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def has_unstorable_characters(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def body_problem(data: Any) -> str | None:
    """Why a parsed JSON document cannot be accepted, or None."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return f"objects and arrays may be nested at most {MAX_DEPTH} deep."
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and has_unstorable_characters(key):
                    return "keys may not contain NUL (\\u0000) or unpaired surrogates."
                stack.append((item, depth + 1))
        elif isinstance(value, str) and has_unstorable_characters(value):
            return "strings may not contain NUL (\\u0000) or unpaired surrogates."
        elif isinstance(value, Decimal):
            if not math.isfinite(float(value)):
                # jsonb would store it, but no JSON reader of ours could give it back.
                return "a number is too large."
            if -value.as_tuple().exponent > MAX_DECIMAL_PLACES:  # type: ignore[operator]
                # PostgreSQL's numeric, and so a jsonb number, holds no more.
                return f"a number has more than {MAX_DECIMAL_PLACES} decimal places."
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number.")


def json_loads(raw: bytes, encoding: str = "utf-8") -> Any:
    """A JSON body as every route reads it (see the module's docstring), or ParseError."""
    try:
        data = json.loads(
            raw.decode(encoding), parse_float=Decimal, parse_constant=_refuse_constant
        )
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from exc
    except InvalidOperation as exc:  # an exponent beyond what Decimal represents
        raise ParseError("JSON parse error - a number is too large.") from exc
    except RecursionError as exc:
        raise ParseError(
            f"JSON parse error - objects and arrays may be nested at most {MAX_DEPTH} deep."
        ) from exc
    problem = body_problem(data)
    if problem is not None:
        raise ParseError(f"JSON parse error - {problem}")
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents the database could not store."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        return json_loads(stream.read() if stream is not None else b"", encoding)
