"""Every resource Piriod's client whitelists × list / create / retrieve / update / delete,
called through the client against a live server: each answers JSON (or a bodiless 204),
never HTML and never a 5xx, with the status this table pins."""

import json

import pytest

from tests.conftest import make_tenant
from tests.piriod_client import run_script

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

VERBS = ("list", "create", "retrieve", "update", "delete")
CRUD = dict(zip(VERBS, (200, 201, 200, 200, 204), strict=True))
NOT_FOUND = dict.fromkeys(VERBS, 404)

# What each resource answers; where it is not plain CRUD, why.
EXPECTED: dict[str, dict[str, int] | None] = {
    "addons": CRUD,
    "banks": CRUD,
    "billers/built_in": CRUD,
    # A bulk is submitted (202, processed by the worker) and polled; PUT changes its
    # metadata; it is not deleted.
    "bulks/invoices": {**CRUD, "create": 202, "delete": 405},
    "bulks/retentions": {**CRUD, "create": 202, "delete": 405},
    "contacts": CRUD,
    "coupons": CRUD,
    "creditnotes": CRUD,
    "customers": CRUD,
    "debitnotes": CRUD,
    "invoices": CRUD,
    # Not described in Piriod's public documentation: a JSON 404 that says so.
    "ops": NOT_FOUND,
    "orders": CRUD,
    "orgunits": CRUD,
    # A payment changes through its actions (refund, cancel), never by PUT or DELETE.
    "payments": {**CRUD, "update": 405, "delete": 405},
    "plans": CRUD,
    "products": CRUD,
    # Computed from the rules: listed only.
    "reminders/pendings": {**NOT_FOUND, "list": 200, "create": 405},
    # Written by beat as it sends: PUT changes metadata only; never created or deleted by
    # hand (no message exists here to retrieve or update).
    "reminders/messages": {
        "list": 200,
        "create": 405,
        "retrieve": 404,
        "update": 404,
        "delete": 405,
    },
    "reminders/templates": CRUD,
    "reminders/rules": CRUD,
    "retentions": CRUD,
    # Piriod documents create, retrieve and destroy for sources: a card is not edited.
    "sources": {**CRUD, "update": 405},
    # DELETE cancels a subscription and answers it, as Piriod documents.
    "subscriptions": {**CRUD, "delete": 200},
    # Usage records belong to metering, whose own tests pin their statuses: here only JSON
    # and no 5xx.
    "usages": None,
}


def test_every_whitelisted_resource_answers_each_call_as_documented(live_server):
    tenant = make_tenant()

    result = run_script("matrix.js", base_url=live_server.url, tenant=tenant)

    assert result.returncode == 0, result.stdout + result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    answers = {(row["resource"], row["verb"]): row for row in rows}
    assert len(answers) == len(EXPECTED) * len(VERBS)
    broken = []
    for (resource, verb), row in answers.items():
        status, content_type = row["status"], row["contentType"] or ""
        if status >= 500 or (status != 204 and not content_type.startswith("application/json")):
            broken.append((resource, verb, status, content_type, row["body"]))
        elif (expected := EXPECTED[resource]) is not None and status != expected[verb]:
            broken.append((resource, verb, status, expected[verb], row["body"]))
        elif status >= 400 and status != 400 and not {"detail", "code"} <= set(row["body"]):
            broken.append((resource, verb, status, "no detail and code", row["body"]))
    assert broken == [], "\n".join(map(repr, broken))
