"""The bulk events body's fast path: orjson, with the kernel parser's checks only when
the body holds an escape that could smuggle in a NUL or a lone surrogate, and the
kernel parser itself when a property holds a fraction or an exponent."""

from itertools import chain, compress, repeat
from operator import is_
from typing import Any

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from billing.api.parsers import body_problem, json_loads

_CONTAINERS = (dict, list)


class OrjsonParser(parsers.BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        # orjson reads a fraction, an exponent or an integer beyond 64 bits as a float,
        # which keeps about 16 digits: such a body is read again as every other route
        # reads it, numbers as exact Decimals and integers. Integers alone, the usual
        # body, are read once.
        if _properties_hold_a_float(data):
            return json_loads(raw)
        # orjson refuses invalid UTF-8; `\u0000` and `\ud800` escapes are valid JSON that
        # PostgreSQL cannot store, so a body with escapes gets the kernel's full walk. A
        # one-byte search first: it runs as memchr, where a two-byte one read the whole
        # body more slowly (a quarter of a millisecond for a thousand events).
        if b"\\" in raw and (b"\\u" in raw or b"\\U" in raw):
            problem = body_problem(data)
            if problem is not None:
                raise ParseError(f"JSON parse error - {problem}")
        return data


def _properties_hold_a_float(data: Any) -> bool:
    """Whether a float is among the events' properties, at any depth: the only numbers
    stored or counted (anything else a float is in is rejected). Each step is a loop in C
    over the batch; only properties holding objects or arrays are walked one by one."""
    events = data.get("events") if type(data) is dict else None
    if type(events) is not list:
        return False
    objects = compress(events, map(is_, map(type, events), repeat(dict)))
    properties = list(map(dict.get, objects, repeat("properties")))
    objects = compress(properties, map(is_, map(type, properties), repeat(dict)))
    values = list(chain.from_iterable(map(dict.values, objects)))
    kinds = list(map(type, values))
    if float in kinds:
        return True
    if dict not in kinds and list not in kinds:
        return False
    return any(_holds_a_float(value) for value in values if type(value) in _CONTAINERS)


def _holds_a_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            return True
        if type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return False
