"""Request input the database cannot store is refused with a 400 before any query runs.

PostgreSQL refuses U+0000 in text and jsonb, and no database driver can encode a lone
UTF-16 surrogate (`"\\ud800"`, which JSON allows) as UTF-8. DRF's CharField already
refuses both in values; this covers the rest of a body (object keys, free-form objects
such as metadata and tax settings). A number too large for a float (`1e400`) parses as
infinity, which jsonb and the strict JSON renderer refuse. Nesting is capped, which
Python's JSON decoder and PostgreSQL's jsonb would otherwise answer with a recursion or
stack-depth error.
"""

import math
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
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
        elif isinstance(value, float) and not math.isfinite(value):
            return "a number is too large."
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing documents the database could not store."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(
                f"JSON parse error - objects and arrays may be nested at most {MAX_DEPTH} deep."
            ) from exc
        problem = body_problem(data)
        if problem is not None:
            raise ParseError(f"JSON parse error - {problem}")
        return data
