"""Reading amounts from API bodies, where they are JSON numbers (api.md §1 Money and
numbers). A plain `json.loads` reads a number with a fraction as a float; these read it as
a Decimal, every digit as the server wrote it, so tests compare amounts as Decimals
(`body["total"] == D("1190")` holds for the number 1190 and for 1190.0).

- `ExactJSONClient`: the tenants' API client, whose `response.json()` reads that way.
- `decoded`: the same for a response of any other client.
- `money`: one amount as a Decimal, whether it came as a number or a string.
"""

import json
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

D = Decimal


def decoded(response: Any) -> Any:
    """The response's JSON body with its numbers that have a fraction as Decimals."""
    return json.loads(response.content, parse_float=Decimal)


def money(value: Any) -> Decimal:
    return Decimal(str(value))


class ExactJSONClient(APIClient):
    def _parse_json(self, response: Any, **extra: Any) -> Any:
        extra.setdefault("parse_float", Decimal)
        return super()._parse_json(response, **extra)
