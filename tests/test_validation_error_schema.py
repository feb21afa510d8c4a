"""Every key a 400 answers is one the operation's documented 400 schema declares.

A 400 names what was wrong by its key: a body field, a query parameter, or `detail` and
`code` when the request as a whole is malformed. A generated client reads those keys as
the schema declares them, so each operation's 400 must declare every key it answers
(billing.api.schema); keys a request invents (unknown fields) are the schema's
additionalProperties.
"""

import json
from typing import Any

import pytest
from django.core.cache import cache

from tests.conftest import make_tenant
from tests.live import openapi_document, query_parameters, seed_objects
from tests.test_bad_input import DOCUMENTED_BODY, LIST_OPERATIONS, World

pytestmark = pytest.mark.django_db

DOCUMENT = openapi_document()
# A value no field takes as it is: an object where a string, number, list or id belongs,
# and, inside an object field (metadata), a list where a string belongs.
WRONG = {"x": [[]]}
UNKNOWN = ["Unknown field."]


@pytest.fixture
def world(db: Any) -> World:
    cache.clear()
    tenant = make_tenant()
    return World(tenant, seed_objects(tenant))


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _declared_400(operation: dict[str, Any]) -> dict[str, Any]:
    content = operation["responses"]["400"]["content"]["application/json"]
    return _resolved(content["schema"]).get("properties", {})


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _properties(body: dict[str, Any] | None) -> list[str]:
    content = (body or {}).get("content", {})
    if not content:
        return []
    return list(_resolved(next(iter(content.values()))["schema"]).get("properties", {}))


def _fields(operation: dict[str, Any]) -> list[str]:
    """What a body of the operation may name: its request's fields, and its answer's
    (a retrieved object PUT back repeats the read-only ones)."""
    answer = operation["responses"].get("200") or operation["responses"].get("201")
    return sorted({*_properties(operation["requestBody"]), *_properties(answer)})


def _undeclared(
    world: World, method: str, path: str, operation: dict[str, Any], **call: Any
) -> str | None:
    response = world.call(method, path, **call)
    if response.status_code != 400:
        return None
    declared = _declared_400(operation)
    answer = response.json()
    # A field the operation does not take is answered under the name it was sent with.
    undeclared = sorted(key for key in set(answer) - set(declared) if answer[key] != UNKNOWN)
    # A key declared as messages answers a list of strings, not an object.
    mistyped = sorted(
        key
        for key, schema in declared.items()
        if key in answer and schema.get("type") == "array" and not _is_messages(answer[key])
    )
    if undeclared or mistyped:
        return f"{method} {path}: undeclared {undeclared}, not messages {mistyped}"
    return None


def test_every_body_field_error_key_is_declared(world: World) -> None:
    failures = []
    for method, path, operation in DOCUMENTED_BODY:
        fields = _fields(operation)
        for body in ({}, {name: WRONG for name in fields}):
            failure = _undeclared(world, method, path, operation, body=json.dumps(body).encode())
            if failure:
                failures.append(failure)
    assert not failures, "\n".join(sorted(set(failures)))


def test_every_query_parameter_error_key_is_declared(world: World) -> None:
    failures = []
    for method, path, operation in LIST_OPERATIONS:
        query = {name: "\x01bad" for name in query_parameters(operation)}
        failure = _undeclared(world, method, path, operation, query=query)
        if failure:
            failures.append(failure)
    assert not failures, "\n".join(failures)


def test_a_malformed_request_answers_declared_keys(world: World) -> None:
    method, path, operation = DOCUMENTED_BODY[0]

    failure = _undeclared(world, method, path, operation, body=b'{"name": ')

    assert failure is None, failure
