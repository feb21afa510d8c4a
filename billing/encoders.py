"""How the server writes JSON: Decimals as exact number literals, never floats or strings.

Amounts and quantities are JSON numbers (api.md §1 Money and numbers), written straight
from the Decimal with every significant digit, in plain notation: `Decimal("64803.50")`
is the text `64803.5`, `Decimal("1E+2")` (which `normalize()` gives for 100) is `100`.

- `json_bytes` writes API responses (billing.api.renderers) and webhook bodies, with
  orjson, which is fast and writes a Decimal as the raw text of its literal.
- `JSONEncoder` and `JSONDecoder` are the pair every model JSONField uses (billing.models,
  each app's models): services put dates, datetimes and Decimals into JSON columns (a
  reference's date, an agency's answer, an event's data, an idempotent response, tax
  settings parsed from a request whose numbers are Decimals); they are stored as ISO
  dates and datetimes, and Decimals as number literals (jsonb numbers are exact). They
  are read back with fractions as Decimals, so what a column stored is written again as
  it was (an event's data in its webhook body, a replayed response).
"""

import json
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.utils.encoders import JSONEncoder as RestFrameworkEncoder


def decimal_literal(value: Decimal) -> str:
    """The JSON text of a Decimal: every significant digit, in plain notation, without
    the zeros a column's scale pads it with (`118.500000` is `118.5`)."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number.")
    # Not `normalize()`, which rounds to the context's 28 digits.
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _NumberLiteral(str):
    """The JSON text of a Decimal, written as is where a string would be quoted."""


class JSONEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return _NumberLiteral(decimal_literal(o))
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


class JSONDecoder(json.JSONDecoder):
    """Numbers with a fraction or an exponent read as Decimal, as the request parser does."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(**kwargs)


_rest_framework_encoder = RestFrameworkEncoder()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A NaN is refused by decimal_literal; a signalling one cannot be hashed.
        return _decimal_fragment(value) if value.is_finite() else decimal_literal(value)
    # Everything else as DRF's renderer writes it: datetimes with `Z`, lazy text, sets,
    # dates, times, durations.
    return _rest_framework_encoder.default(value)


class _LargeIntegerEncoder(JSONEncoder):
    """`json_bytes`'s way for what orjson refuses: integers beyond 64 bits."""

    def default(self, o: Any) -> Any:
        return super().default(o) if isinstance(o, Decimal) else _rest_framework_encoder.default(o)


_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


# The literal depends on the value alone (`1.50` and `1.5` both write `1.5`), and a
# batch's events repeat the same few prices and rates thousands of times, as an
# invoice's answer repeats its few amounts.
@lru_cache(maxsize=4096)
def _decimal_fragment(value: Decimal) -> orjson.Fragment:
    return orjson.Fragment(decimal_literal(value).encode())


_orjson_defaults: dict[type[json.JSONEncoder], Callable[[Any], Any]] = {}


def _orjson_default(encoder: type[json.JSONEncoder]) -> Callable[[Any], Any]:
    """orjson's `default` for what it passes to `encoder`: one per encoder, made once."""
    if encoder in _orjson_defaults:
        return _orjson_defaults[encoder]
    fallback = encoder()

    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            # A NaN is refused by decimal_literal; a signalling one cannot be hashed.
            return _decimal_fragment(o) if o.is_finite() else decimal_literal(o)
        return fallback.default(o)

    _orjson_defaults[encoder] = default
    return default


def json_text(value: Any, encoder: type[json.JSONEncoder] | None = JSONEncoder) -> str:
    """`json.dumps(value, cls=encoder)` as a JSON column or `json.loads` takes it, written
    by orjson: Decimals as their literals, what orjson passes over (dates, datetimes) by
    `encoder`. Only the spacing differs, which neither jsonb nor a parser keeps."""
    default = _orjson_default(encoder or json.JSONEncoder)
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS).decode()
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
    return json.dumps(value, cls=encoder)  # an integer beyond 64 bits


def json_bytes(data: Any, *, sort_keys: bool = False) -> bytes:
    """`data` as compact UTF-8 JSON text."""
    options = _OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else _OPTIONS
    try:
        return orjson.dumps(data, default=_default, option=options)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
    # A free-form object (metadata aside) may hold any integer the parser read.
    text = json.dumps(
        data,
        cls=_LargeIntegerEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=sort_keys,
    )
    return text.encode()
