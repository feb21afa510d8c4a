"""The API's content negotiation answers as DRF's own does (billing/api/negotiation.py)."""

import itertools

import pytest
from django.http import Http404
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from billing.api.negotiation import ContentNegotiation
from billing.api.renderers import JSONRenderer

RENDERER_LISTS = [
    [JSONRenderer],
    [OpenApiJsonRenderer2, OpenApiJsonRenderer],  # the OpenAPI document's view
    [JSONRenderer, BrowsableAPIRenderer],
]
ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/json;q=0.5",
    "application/*",
    "*/*;q=0.8",
    "text/html",
    "text/html, */*",
    "APPLICATION/JSON",
    "application/vnd.oai.openapi+json",
    "application/vnd.oai.openapi",
    "",
]
QUERIES = ["", "format=json", "format=api", "format=openapi", "format=", "limit=1"]


def _answer(negotiation, request, renderers, suffix):
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except (NotAcceptable, Http404) as exc:
        return type(exc)
    return type(renderer), media_type


@pytest.mark.parametrize("renderer_classes", RENDERER_LISTS, ids=lambda r: r[0].__name__)
def test_every_answer_is_drfs(renderer_classes):
    factory = APIRequestFactory()
    for accept, query, suffix in itertools.product(ACCEPTS, QUERIES, [None, "json"]):
        headers = {} if accept is None else {"HTTP_ACCEPT": accept}
        request = Request(factory.get(f"/invoices/?{query}" if query else "/invoices/", **headers))
        renderers = [renderer() for renderer in renderer_classes]

        ours = _answer(ContentNegotiation(), request, renderers, suffix)
        drfs = _answer(DefaultContentNegotiation(), request, renderers, suffix)

        assert ours == drfs, (accept, query, suffix)
