"""Every API response is written by `billing.encoders.json_bytes`: amounts and quantities
are JSON numbers with every digit of their Decimal (api.md §1 Money and numbers)."""

from collections.abc import Mapping
from typing import Any

from rest_framework import renderers

from billing.encoders import json_bytes


class JSONRenderer(renderers.JSONRenderer):
    """Compact JSON always: an `indent` media type parameter is not honoured, since DRF's
    pretty printer would write Decimals as floats."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        return json_bytes(data)
