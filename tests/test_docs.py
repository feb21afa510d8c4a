"""The OpenAPI document and the /docs/ viewer are served, with no CDN involved."""

import re

import pytest
from django.test import Client


@pytest.mark.parametrize("path", ["/openapi.json", "/schema/"])
def test_openapi_document_is_served_without_credentials(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/customers/" in document["paths"]


def test_docs_render_with_locally_served_assets() -> None:
    client = Client()
    page = client.get("/docs/")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    assert "cdn" not in html.lower()
    assert "/openapi.json" in html
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content)


def test_only_the_viewer_assets_are_served() -> None:
    client = Client()
    assert client.get("/static/drf_spectacular_sidecar/../../settings.py").status_code in (
        400,
        404,
    )
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/nope.js").status_code == 404
