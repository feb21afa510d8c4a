"""Request ids on every response, and the request body size limit."""

import gzip
import json
import re

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from customers.models import Customer

ULID = "[0-9A-HJKMNP-TV-Z]{26}"


def test_every_response_carries_a_request_id(tenant):
    ok = tenant.client.get("/customers/")
    unauthenticated = APIClient().get("/customers/")
    not_found = tenant.client.get("/customers/cus_nope/")

    found = [r.headers.get("X-Request-Id", "") for r in (ok, unauthenticated, not_found)]
    assert all(re.fullmatch(f"req_{ULID}", request_id) for request_id in found), found
    assert len(set(found)) == 3


def test_a_request_id_sent_by_the_caller_is_echoed(tenant):
    response = tenant.client.get("/customers/", headers={"X-Request-Id": "trace-42.a:b_c"})

    assert response.headers["X-Request-Id"] == "trace-42.a:b_c"


@pytest.mark.parametrize("unsafe", ["has spaces", "x" * 65, "new\\nline", "ümlaut"])
def test_an_unsafe_request_id_is_replaced(tenant, unsafe):
    response = tenant.client.get("/customers/", headers={"X-Request-Id": unsafe})

    assert re.fullmatch(f"req_{ULID}", response.headers["X-Request-Id"])


@override_settings(REQUEST_BODY_MAX_BYTES=200)
def test_a_body_over_the_limit_is_a_413(tenant):
    body = {"name": "ACME SpA", "country": "CL", "tax_id": "76086428-5", "address": "x" * 200}

    response = tenant.client.post("/customers/", body, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert "X-Request-Id" in response.headers
    assert not Customer.objects.exists()


@override_settings(REQUEST_BODY_MAX_BYTES=200)
def test_a_body_under_the_limit_passes(tenant):
    body = {"name": "ACME SpA", "country": "CL", "tax_id": "76086428-5"}

    response = tenant.client.post("/customers/", body, format="json")

    assert response.status_code == 201


def test_a_malformed_content_length_is_a_400(tenant):
    response = tenant.client.post("/customers/", {}, format="json", CONTENT_LENGTH="many")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_content_length"


def _gzipped(body: dict) -> bytes:
    return gzip.compress(json.dumps(body).encode())


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "GZIP", "gzip, identity"])
def test_a_compressed_body_is_a_415_that_says_so(tenant, encoding):
    body = {"name": "ACME SpA", "country": "CL", "tax_id": "76086428-5"}

    response = tenant.client.generic(
        "POST",
        "/customers/",
        _gzipped(body),
        content_type="application/json",
        headers={"Content-Encoding": encoding},
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_content_encoding"
    assert "Content-Encoding" in response.json()["detail"]
    assert response.headers["Accept-Encoding"] == "identity"
    assert not Customer.objects.exists()


def test_an_identity_content_encoding_is_a_plain_body(tenant):
    body = {"name": "ACME SpA", "country": "CL", "tax_id": "76086428-5"}

    response = tenant.client.post(
        "/customers/", body, format="json", headers={"Content-Encoding": "identity"}
    )

    assert response.status_code == 201


def test_a_content_encoding_without_a_body_is_ignored(tenant):
    response = tenant.client.get("/customers/", headers={"Content-Encoding": "gzip"})

    assert response.status_code == 200
