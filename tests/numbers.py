"""Reading amounts from API bodies, where they are JSON numbers (api.md §1 Money and
numbers): `decoded` keeps every digit of a number with a fraction (a plain `json()` reads
it as a float), and `money` compares one amount whether it came as a number or a string."""

import json
from decimal import Decimal
from typing import Any


def decoded(response: Any) -> Any:
    """The response's JSON body with its numbers that have a fraction as Decimals."""
    return json.loads(response.content, parse_float=Decimal)


def money(value: Any) -> Decimal:
    return Decimal(str(value))
