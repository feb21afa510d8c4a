"""Which renderer answers a request: DRF's content negotiation, with the commonest
question answered at once."""

from collections.abc import Iterable

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    """A request that asks for no format (no `.json` suffix, no query string to hold a
    `?format=`) and accepts anything (no Accept header, or `*/*`) or exactly the first
    renderer's media type gets the first renderer and its media type, which is what
    DRF's negotiation answers after parsing the header."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        meta = request._request.META
        if renderers and not format_suffix and not meta.get("QUERY_STRING"):
            accept = meta.get("HTTP_ACCEPT", "*/*")
            first = renderers[0]
            if accept == "*/*" or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
