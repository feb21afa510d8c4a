"""The OpenAPI document, the /docs/ viewer and the static files are served by the app,
with no CDN involved and whatever runs it (DEBUG is off here, as under gunicorn)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.parametrize("path", ["/openapi.json", "/schema/"])
def test_openapi_document_is_served_without_credentials(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/customers/" in document["paths"]


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/json", "application/json"),
        ("application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
def test_openapi_document_is_served_as_the_client_asks(accept, content_type) -> None:  # type: ignore[no-untyped-def]
    headers = {"Accept": accept} if accept else {}
    response = Client().get("/openapi.json", headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response.json()["openapi"].startswith("3.")


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


def test_only_existing_static_files_are_served() -> None:
    client = Client()
    assert client.get("/static/drf_spectacular_sidecar/../../settings.py").status_code in (
        400,
        404,
    )
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/nope.js").status_code == 404


def test_the_admin_stylesheets_are_served_with_debug_off(settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.DEBUG is False
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content)


README = Path(settings.BASE_DIR) / "README.md"
DOCS = Path(settings.BASE_DIR) / "docs"


def _readme_links_into_docs() -> set[str]:
    return set(re.findall(r"\]\((docs/[^)\s]+)\)", README.read_text()))


def test_every_screenshot_in_docs_exists_and_is_linked_from_the_readme() -> None:
    linked = _readme_links_into_docs()
    pictures = {str(p.relative_to(DOCS.parent)) for p in DOCS.rglob("*.png")}

    assert "docs/pdf/factura.png" in linked  # a PDF page, next to the checkout's
    assert {link for link in linked if not (DOCS.parent / link).is_file()} == set()
    assert pictures - linked == set()
    for picture in pictures:
        assert (DOCS.parent / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
