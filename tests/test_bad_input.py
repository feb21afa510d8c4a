"""G7, targeted: inputs known to break servers get a clear 4xx, never a 500.

Most tests run over every operation of the OpenAPI document (tests.live), so a new
resource is covered as soon as it is routed. Run on SQLite and on PostgreSQL: PostgreSQL
refuses things SQLite stores (NUL characters, odd time zone offsets).
"""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.conftest import Tenant, make_tenant
from tests.live import fill_path, operations, query_parameters, real_id, seed_objects

pytestmark = pytest.mark.django_db

OPERATIONS = operations()
BODY_OPERATIONS = [(m, p, op) for m, p, op in OPERATIONS if m in ("POST", "PUT", "PATCH")]
# Operations that read a body (the others are actions that take none).
DOCUMENTED_BODY = [(m, p, op) for m, p, op in BODY_OPERATIONS if "requestBody" in op]
LIST_OPERATIONS = [
    (m, p, op) for m, p, op in OPERATIONS if m == "GET" and "page" in query_parameters(op)
]
DETAIL_OPERATIONS = [(m, p, op) for m, p, op in OPERATIONS if "{" in p]


class World:
    """A tenant with one object of each resource, and a client sending its headers."""

    def __init__(self, tenant: Tenant, ids: dict[str, str]) -> None:
        self.tenant = tenant
        self.ids = ids
        # A client without stored credentials, so that a test can replace any header.
        self.client = APIClient()
        self.headers = {
            "HTTP_AUTHORIZATION": f"Token {tenant.token}",
            "HTTP_X_SIMPLE_WORKSPACE": tenant.workspace.id,
        }

    def url(self, path: str, *, id: str | None = None) -> str:
        if "{" not in path:
            return path
        value = id if id is not None else (real_id(path, self.ids) or "missing")
        return fill_path(path, quote(value, safe=""))

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
        id: str | None = None,
        **headers: str,
    ) -> Any:
        url = self.url(path, id=id)
        if query:
            url += "?" + urlencode(query)
        cache.clear()  # these tests call far more often than the per-minute budget
        return self.client.generic(
            method,
            url,
            body if body is not None else b"",
            content_type=content_type,
            **{**self.headers, **headers},
        )


@pytest.fixture
def world(db: Any) -> World:
    cache.clear()
    tenant = make_tenant()
    return World(tenant, seed_objects(tenant))


def _failures(
    world: World,
    ops: list[tuple[str, str, dict[str, Any]]],
    expect: Callable[[int], bool],
    **call: Any,
) -> list[str]:
    failures = []
    for method, path, _ in ops:
        response = world.call(method, path, **call)
        ok = expect(response.status_code)
        if not (ok or _unseeded_404(world, path, response, call.get("id"))):
            failures.append(f"{method} {path}: {response.status_code} {response.content[:200]!r}")
    return failures


def _unseeded_404(world: World, path: str, response: Any, id: str | None = None) -> bool:
    """A detail route of a resource with no seeded object (no factory) can only 404."""
    unseeded = "{" in path and id is None and real_id(path, world.ids) is None
    return unseeded and response.status_code == 404


def is_400(status: int) -> bool:
    return status == 400


def is_4xx(status: int) -> bool:
    return 400 <= status < 500


def not_5xx(status: int) -> bool:
    return status < 500


def _deep(depth: int) -> bytes:
    return b'{"metadata": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


# Bodies no JSON parser should accept, or that the database could not store.
UNPARSABLE_BODIES = {
    "malformed": b'{"name": ',
    "trailing comma": b'{"name": "x",}',
    "not utf-8": b'{"name": "\xff\xfe"}',
    "NaN": b'{"name": NaN}',
    "NUL in a value": json.dumps({"name": "a\u0000b"}).encode(),
    "NUL in a key": json.dumps({"na\u0000me": "x"}).encode(),
    "NUL in metadata": json.dumps({"metadata": {"k\u0000": "v\u0000"}}).encode(),
    "NUL in a nested object": json.dumps({"tax_settings": {"a": ["\u0000"]}}).encode(),
    "lone surrogate in a value": b'{"name": "\\ud800"}',
    "lone surrogate in a key": b'{"\\udc00": "x"}',
    "number too large for a float": b'{"metadata": {"k": 1e400}, "tax_settings": {"x": -1e999}}',
    "integer of 5000 digits": b'{"name": ' + b"9" * 5000 + b"}",
    "nested 40 deep": _deep(40),
    "nested 100000 deep": b"[" * 100_000 + b"]" * 100_000,
}
# Valid JSON that is not an object.
NOT_AN_OBJECT = {
    "empty array": b"[]",
    "array of objects": b'[{"name": "x"}]',
    "string": b'"customer"',
    "number": b"42",
    "boolean": b"true",
    "null": b"null",
}


@pytest.mark.parametrize("case", list(UNPARSABLE_BODIES))
def test_unparsable_bodies_are_400(world: World, case: str) -> None:
    failures = _failures(world, DOCUMENTED_BODY, is_400, body=UNPARSABLE_BODIES[case])
    # Every POST reads its body when it carries an Idempotency-Key (to fingerprint it).
    posts = [op for op in BODY_OPERATIONS if op[0] == "POST"]
    failures += _failures(
        world, posts, is_400, body=UNPARSABLE_BODIES[case], HTTP_IDEMPOTENCY_KEY=case
    )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", list(NOT_AN_OBJECT))
def test_bodies_that_are_not_objects_are_400(world: World, case: str) -> None:
    failures = _failures(world, DOCUMENTED_BODY, is_400, body=NOT_AN_OBJECT[case])
    posts = [op for op in DOCUMENTED_BODY if op[0] == "POST"]
    for op in posts:
        key = f"{case} {op[1]}"  # one key per route: a key reused elsewhere is a 422
        failures += _failures(
            world, [op], is_400, body=NOT_AN_OBJECT[case], HTTP_IDEMPOTENCY_KEY=key
        )
    assert not failures, "\n".join(failures)


def test_bad_body_error_shape(world: World) -> None:
    response = world.call("POST", "/customers/", UNPARSABLE_BODIES["NUL in a key"])
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "application/xml",
    ],
)
def test_bodies_that_are_not_json_are_415(world: World, content_type: str) -> None:
    body = b"name=ACME&country=CL" if "urlencoded" in content_type else b"<name>ACME</name>"
    # An operation that documents this media type (a CAF's file upload) takes it.
    media_type = content_type.split(";")[0]
    json_only = [op for op in DOCUMENTED_BODY if media_type not in op[2]["requestBody"]["content"]]
    assert json_only, "every operation documents this media type"
    failures = _failures(
        world,
        json_only,
        lambda status: status == 415,
        body=body,
        content_type=content_type,
    )
    assert not failures, "\n".join(failures)
    response = world.call("POST", "/customers/", body, content_type=content_type)
    assert response.json()["code"] == "unsupported_media_type"


def test_unknown_fields_are_400_on_every_body(world: World) -> None:
    failures = []
    for method, path, _ in DOCUMENTED_BODY:
        response = world.call(method, path, json.dumps({"no_such_field": 1}).encode())
        if _unseeded_404(world, path, response):
            continue
        if response.status_code != 400 or "no_such_field" not in response.json():
            failures.append(f"{method} {path}: {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)


# Wrong types, one field at a time, on a real object (so only that field is wrong).
WRONG_TYPES = [
    ("/customers/{id}/", "name", {"a": 1}),
    ("/customers/{id}/", "name", ["x"]),
    ("/customers/{id}/", "name", None),
    ("/customers/{id}/", "country", 5),
    ("/customers/{id}/", "country", ["CL"]),
    ("/customers/{id}/", "state", {"code": "RM"}),
    ("/customers/{id}/", "send_invoices", "maybe"),
    ("/customers/{id}/", "send_invoices", 1e300),
    ("/customers/{id}/", "email", 12),
    ("/customers/{id}/", "metadata", []),
    ("/customers/{id}/", "metadata", "x"),
    ("/customers/{id}/", "metadata", {"k": {"nested": 1}}),
    ("/customers/{id}/", "metadata", {"k": ["v"]}),
    ("/customers/{id}/", "tax_settings", []),
    ("/customers/{id}/", "tax_settings", "x"),
    ("/contacts/{id}/", "customer", 5),
    ("/contacts/{id}/", "customer", {"id": "cus_x"}),
    ("/contacts/{id}/", "invoicing", "sometimes"),
    ("/webhooks/{id}/", "events", "customer.created"),
    ("/webhooks/{id}/", "events", [{"type": "x"}]),
    ("/webhooks/{id}/", "url", 5),
    ("/webhooks/{id}/", "url", ["https://example.com"]),
]


@pytest.mark.parametrize(("path", "field", "value"), WRONG_TYPES)
def test_wrong_types_are_400(world: World, path: str, field: str, value: Any) -> None:
    response = world.call("PATCH", path, json.dumps({field: value}).encode())
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 1e308),
        ("name", -(10**300)),
        ("send_invoices", 10**100),
        ("metadata", {"k": 10**600}),
        ("tax_settings", {"limit": 10**4000, "rate": 1e-320, "neg": -1.7e308}),
        ("reference", 10**70),
    ],
)
def test_huge_numbers_never_500(world: World, field: str, value: Any) -> None:
    response = world.call("PATCH", "/customers/{id}/", json.dumps({field: value}).encode())
    assert response.status_code < 500, response.content
    if response.status_code == 200:
        # Whatever was accepted can be read back.
        assert world.call("GET", "/customers/{id}/").status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "Ñandú Cía. Ltda.",
        "株式会社テスト",
        "שלום עולם",
        "🚀🏦 Billing 🇨🇱",
        "e\u0301\u0301\u0301",  # combining marks
        "zero\u200bwidth\u2028line\ufeff",
        "\U0010ffff",
        "tab\there\r\nnew\x1fline",
    ],
)
def test_unicode_round_trips(world: World, name: str) -> None:
    body = {"name": name, "country": "US", "metadata": {name[:40]: name}}
    created = world.call("POST", "/customers/", json.dumps(body).encode())
    assert created.status_code == 201, created.content
    assert created.json()["name"] == name
    fetched = world.call("GET", "/customers/{id}/", id=created.json()["id"])
    assert fetched.json()["name"] == name
    assert fetched.json()["metadata"] == {name[:40]: name}
    assert world.call("GET", "/customers/", query={"search": name}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 101}, "name"),
        ({"name": "x" * 100_000}, "name"),
        ({"reference": "r" * 65}, "reference"),
        ({"metadata": {"k" * 41: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 501}}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"email": "a" * 300 + "@example.com"}, "email"),
        ({"website": "https://" + "a" * 300 + ".com"}, "website"),
    ],
)
def test_long_strings_are_400(world: World, body: dict[str, Any], field: str) -> None:
    response = world.call("PATCH", "/customers/{id}/", json.dumps(body).encode())
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_oversized_body_is_413(world: World) -> None:
    body = json.dumps({"name": "x", "tax_settings": {"blob": "x" * 2_000_000}}).encode()
    assert world.call("POST", "/customers/", body).status_code == 413


# Query strings: every list operation of the document, with values that break parsers.
QUERY_CASES: list[tuple[dict[str, str], Callable[[int], bool]]] = [
    ({"page": "abc"}, is_4xx),
    ({"page": "0"}, is_4xx),
    ({"page": "-1"}, is_4xx),
    ({"page": "1.5"}, is_4xx),
    ({"page": "9" * 40}, is_4xx),
    ({"page": "\x00"}, is_4xx),
    ({"page_size": "-1"}, not_5xx),
    ({"page_size": "0"}, not_5xx),
    ({"page_size": "abc"}, not_5xx),
    ({"page_size": "9" * 40}, not_5xx),
    ({"ordering": "nonsense"}, is_400),
    ({"ordering": "-"}, is_400),
    ({"ordering": "--created,,"}, not_5xx),
    ({"ordering": "\x00"}, is_400),
    ({"search": "\x00"}, is_400),
    ({"search": "x" * 10_000}, not_5xx),
    ({"search": "%_\\'\";--"}, not_5xx),
    ({"metadata__k": "\x00"}, is_400),
    ({"metadata__bad key!": "v"}, not_5xx),
    ({"metadata__" + "k" * 100: "v"}, not_5xx),
    ({"\x00": "x"}, is_400),
]


# Ids by the check's name, never its repr: an address differs from one process to the next,
# and xdist's processes must collect the same tests.
@pytest.mark.parametrize(
    ("query", "expect"), QUERY_CASES, ids=lambda v: v.__name__ if callable(v) else repr(v)[:40]
)
def test_list_query_strings(world: World, query: dict[str, str], expect: Any) -> None:
    failures = []
    for method, path, op in LIST_OPERATIONS:
        # A NUL is refused everywhere; other expectations hold where the parameter is
        # declared (elsewhere it is an unknown filter: a 400).
        applies = any("\x00" in k + v for k, v in query.items()) or set(query) <= set(
            query_parameters(op)
        )
        failures += _failures(
            world, [(method, path, op)], expect if applies else not_5xx, query=query
        )
    assert not failures, "\n".join(failures)


DATETIMES = {
    "notadate": is_400,
    "2026-13-45": is_400,
    "2026-01-01T25:00:00": is_400,
    "0864-09-25T00:30:00.3-16:48": not_5xx,  # beyond PostgreSQL's ±15:59 offsets
    "2026-01-01T00:00:00+23:59": not_5xx,
    "0001-01-01T00:00:00+05:00": is_400,  # before year 1 in UTC
    "9999-12-31T23:59:59-05:00": is_400,  # after year 9999 in UTC
    "9" * 40: is_400,
    "\x00": is_400,
}


@pytest.mark.parametrize("value", list(DATETIMES))
def test_datetime_filters(world: World, value: str) -> None:
    failures = []
    for method, path, op in LIST_OPERATIONS:
        for name in query_parameters(op):
            bound = name.endswith(("__gt", "__gte", "__lt", "__lte"))
            if bound and name.startswith(("created", "updated")):
                response = world.call(method, path, query={name: value})
                if not DATETIMES[value](response.status_code):
                    failures.append(f"{path}?{name}={value!r}: {response.status_code}")
    assert not failures, "\n".join(failures)


UNKNOWN = "no_such_filter"


def test_every_list_refuses_a_query_parameter_it_does_not_take(world: World) -> None:
    """An ignored filter would list every row as if each matched; each parameter the
    document declares is taken (not refused as unknown)."""
    failures = []
    # An object's own lists (/subscriptions/{id}/invoices/) are actions: not checked.
    for method, path, op in [(m, p, op) for m, p, op in LIST_OPERATIONS if "{" not in p]:
        response = world.call(method, path, query={UNKNOWN: "x"})
        if response.status_code != 400 or response.json() != {UNKNOWN: ["Unknown filter."]}:
            failures.append(f"{path}?{UNKNOWN}=x: {response.status_code}")
        for name in query_parameters(op):
            body = world.call(method, path, query={name: ""}).json()
            if isinstance(body, dict) and body.get(name) == ["Unknown filter."]:
                failures.append(f"{path}?{name}= declared but refused as unknown")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "value", ["\x00", "", " ", "x" * 5000, "9" * 40, "-1", "true", "cus_\x00", "a,b,,\x00"]
)
def test_every_declared_query_parameter_never_500(world: World, value: str) -> None:
    failures = []
    for method, path, op in LIST_OPERATIONS:
        for name in query_parameters(op):
            response = world.call(method, path, query={name: value})
            expect = is_4xx if "\x00" in value else not_5xx
            if not expect(response.status_code):
                failures.append(f"{path}?{name}={value[:20]!r}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "value", ["\x00", "cus_\x00", "x" * 5000, "9" * 40, "-1", "ñandú", "🚀", " ", "%00"]
)
def test_unknown_ids_in_paths_are_404(world: World, value: str) -> None:
    failures = _failures(world, DETAIL_OPERATIONS, lambda s: s in (404, 405), id=value)
    assert not failures, "\n".join(failures)


HEADER_CASES = [
    ({"HTTP_X_SIMPLE_WORKSPACE": "\x00"}, 403),
    ({"HTTP_X_SIMPLE_WORKSPACE": "acc_\x00"}, 403),
    ({"HTTP_X_SIMPLE_WORKSPACE": "x" * 10_000}, 403),
    ({"HTTP_X_SIMPLE_WORKSPACE": ""}, 400),
    ({"HTTP_X_PIRIOD_TEST_MODE": "maybe"}, 400),
    ({"HTTP_X_PIRIOD_TEST_MODE": "\x00"}, 400),
    ({"HTTP_AUTHORIZATION": "Token \x00"}, 401),
    ({"HTTP_AUTHORIZATION": "Token " + "x" * 10_000}, 401),
    ({"HTTP_AUTHORIZATION": "Token a b c"}, 401),
    ({"HTTP_AUTHORIZATION": "Bearer \x00"}, 401),
    ({"HTTP_AUTHORIZATION": "Bearer a.b.c"}, 401),
    ({"HTTP_AUTHORIZATION": "Bearer " + "x" * 10_000}, 401),
    ({"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="}, 401),
]


@pytest.mark.parametrize(("headers", "status"), HEADER_CASES, ids=lambda v: repr(v)[:40])
def test_bad_tenant_headers(world: World, headers: dict[str, str], status: int) -> None:
    tenant_ops = [
        (m, p, op)
        for m, p, op in OPERATIONS
        if any(x["name"] == "x-simple-workspace" for x in op.get("parameters", []))
    ]
    failures = _failures(world, tenant_ops, lambda s: s == status, **headers)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("key", ["\x00", "k\x00", "k" * 256, ""])
def test_bad_idempotency_keys_are_400(world: World, key: str) -> None:
    body = json.dumps({"name": "ACME", "country": "US"}).encode()
    response = world.call("POST", "/customers/", body, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "idempotency_key_invalid"


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_bad_content_length_is_400(world: World, length: str) -> None:
    response = world.call("POST", "/customers/", b"{}", CONTENT_LENGTH=length)
    assert response.status_code == 400


# What any request may carry, whatever its method: the statuses its body's headers can
# bring (billing.middleware's size limit, a parser's media type) must be in the
# document for every operation, so a generated client knows them.
BODY_HEADER_CASES = {
    "Content-Length not a number": ({"CONTENT_LENGTH": "abc"}, "application/json"),
    "Content-Length over the limit": ({"CONTENT_LENGTH": str(10**9)}, "application/json"),
    "a body that is not JSON": ({}, "text/plain"),
}


@pytest.mark.parametrize("case", list(BODY_HEADER_CASES))
def test_statuses_of_any_body_are_documented(world: World, case: str) -> None:
    headers, content_type = BODY_HEADER_CASES[case]
    failures = []
    for method, path, operation in OPERATIONS:
        response = world.call(method, path, b"x", content_type=content_type, **headers)
        status = response.status_code
        if status >= 500 or str(status) not in operation["responses"]:
            failures.append(f"{method} {path}: {status} {response.content[:120]!r}")
    assert not failures, "\n".join(failures)
