"""Every list that documents `?search=` searches.

Generated from the OpenAPI document: each list operation (a GET taking `page`) that
documents `search` is read holding at least one object, then with a term no object
contains, and the second read must be empty. A route that documented the parameter and
ignored it would list its objects both times. A new list route is covered the moment it
is registered.
"""

import pytest
from django.urls import resolve

from billing.models import TenantModel
from tests.factories import FACTORIES
from tests.live import openapi_document, query_parameters

MATCHES_NOTHING = "zzzqqqnotthere"

SEARCHABLE_LISTS = [
    path
    for path, item in openapi_document()["paths"].items()
    if {"page", "search"} <= set(query_parameters(item.get("get", {})))
]


@pytest.mark.parametrize("path", SEARCHABLE_LISTS)
def test_a_list_that_documents_search_finds_nothing_for_a_term_nothing_contains(path, tenant):
    model = resolve(path).func.cls.queryset.model
    if issubclass(model, TenantModel) and not tenant.client.get(path).json()["count"]:
        FACTORIES[model](workspace=tenant.workspace, test_mode=False)

    listed = tenant.client.get(path)
    searched = tenant.client.get(path, {"search": MATCHES_NOTHING})

    assert listed.status_code == searched.status_code == 200, searched.content
    assert listed.json()["count"] >= 1
    assert searched.json()["count"] == 0, f"{path} ignores ?search="
