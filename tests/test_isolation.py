"""G1: tenant and mode isolation, over every route the URL router serves.

The matrix is generated from `django.urls.get_resolver()`: every route whose view is a
`TenantViewSet` and every method it answers is a test id, run against objects that
belong to another workspace, to the other mode of the caller's workspace, and to the
live mode while the caller asks for test mode. A list-level GET action other than `list`
is a lookup (`coupons/validate/?code=`) and is called with the foreign object's own values
for the query parameters it documents. A new route is covered the moment it is
registered; a route whose model (or a model its body points at) has no factory in
tests/factories.py fails until one is added.
"""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.test import APIClient

from billing.api.filters import TenantIdFilter
from billing.api.viewsets import TenantViewSet
from billing.models import TenantModel, Workspace
from tests.conftest import Tenant
from tests.factories import FACTORIES
from tests.live import openapi_document, query_parameters


@dataclass(frozen=True)
class Route:
    name: str
    display: str
    viewset: type[TenantViewSet]
    actions: dict[str, str]

    @property
    def detail(self) -> bool:
        return "{pk}" in self.display

    @property
    def model(self) -> type[Model]:
        return self.viewset.queryset.model  # type: ignore[union-attr]


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Any:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace, pattern


def _display(regex: str) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex).replace("^", "").replace("$", "")


def discover_tenant_routes() -> list[Route]:
    routes = []
    for regex, namespace, pattern in _walk(get_resolver()):
        viewset = getattr(pattern.callback, "cls", None)
        if viewset is None or not issubclass(viewset, TenantViewSet):
            continue
        routes.append(
            Route(
                name=f"{namespace}{pattern.name}",
                display=_display(regex),
                viewset=viewset,
                actions=dict(pattern.callback.actions),
            )
        )
    return routes


def relation_of(field: serializers.Field) -> serializers.Field:
    return field.child_relation if isinstance(field, serializers.ManyRelatedField) else field


def tenant_relations(route: Route) -> dict[str, serializers.Field]:
    """Writable body fields that take the id of a tenant object (TenantRelatedField and any
    other related field pointing at a tenant model, which would be a bug of its own)."""
    relations = {}
    for name, field in route.viewset.serializer_class().fields.items():
        relation = relation_of(field)
        if field.read_only or not isinstance(relation, serializers.RelatedField):
            continue
        if issubclass(relation.queryset.model, TenantModel):
            relations[name] = field
    return relations


def list_filterset(route: Route) -> type[FilterSet] | None:
    """The filterset the route's list is filtered by: its `filterset_class`, or the one
    the filter backend builds from its `filterset_fields`."""
    view = route.viewset()
    for backend in view.filter_backends:
        if issubclass(backend, DjangoFilterBackend):
            return backend().get_filterset_class(view, route.model._default_manager.none())
    return None


def filtered_model(model: type[Model], field_name: str) -> type[Model] | None:
    """The model whose ids a filter on `field_name` (`customer`, `customer_id`,
    `rule__template`) takes, or None when the field is not a relation."""
    field = None
    for part in field_name.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if field.related_model is None:
            return None
        model = field.related_model
    return model if field is not None else None


def tenant_id_filters(route: Route) -> dict[str, type[Model]]:
    """The list's filters that take the id of a tenant object, by the model they name:
    declared as TenantIdFilter or not (a relation filtered by any other filter would be a
    bug of its own)."""
    filterset = list_filterset(route)
    if filterset is None:
        return {}
    id_filters = {}
    for name, flt in filterset.base_filters.items():
        related = (
            flt.related_model
            if isinstance(flt, TenantIdFilter)
            else filtered_model(route.model, flt.field_name)
        )
        if related is not None and issubclass(related, TenantModel):
            id_filters[name] = related
    return id_filters


def _checks(route: Route, method: str) -> bool:
    """A create route is in the matrix when its body can name another tenant's object."""
    return route.detail or method != "POST" or bool(tenant_relations(route))


ROUTE_METHODS = [
    pytest.param(route, method.upper(), id=f"{method.upper()} {route.display}")
    for route in discover_tenant_routes()
    for method in route.actions
    if _checks(route, method.upper())
]


@dataclass(frozen=True)
class Foreign:
    """Where the foreign objects live, relative to a caller in `caller_test_mode`."""

    name: str
    other_workspace: bool
    object_test_mode: bool
    caller_test_mode: bool


FOREIGNERS = [
    pytest.param(Foreign("other_workspace", True, False, False), id="other_workspace"),
    pytest.param(Foreign("test_mode_object", False, True, False), id="test_mode_object"),
    pytest.param(Foreign("test_mode_caller", False, False, True), id="test_mode_caller"),
]


def make(model: type[Model], *, workspace: Workspace, test_mode: bool) -> Model:
    factory = FACTORIES.get(model)
    if factory is None:
        pytest.fail(
            f"{model.__module__}.{model.__name__} has no factory in tests.factories.FACTORIES, "
            "so its routes cannot be checked for isolation; add one."
        )
    return factory(workspace=workspace, test_mode=test_mode)


def caller_client(tenant: Tenant, *, test_mode: bool) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {tenant.token}",
        HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id,
        HTTP_X_PIRIOD_TEST_MODE="true" if test_mode else "false",
    )
    return client


def row(obj: Model) -> dict[str, Any] | None:
    return type(obj)._default_manager.filter(pk=obj.pk).values().first()


def relation_value(field: serializers.Field, obj: Model) -> Any:
    value = getattr(obj, getattr(relation_of(field), "slug_field", "pk"))
    return [value] if isinstance(field, serializers.ManyRelatedField) else value


def writable_representation(route: Route, obj: Model) -> dict[str, Any]:
    serializer = route.viewset.serializer_class(obj)
    writable = {name for name, field in serializer.fields.items() if not field.read_only}
    return {name: value for name, value in serializer.data.items() if name in writable}


def check_detail(route, method, client, target) -> list[str]:
    """The foreign object is a 404 and stays as it was."""
    before = row(target)
    body = writable_representation(route, target) if method in ("PUT", "PATCH") else {}
    call = getattr(client, method.lower())
    response = call(reverse(route.name, kwargs={"pk": target.pk}), body, format="json")
    failures = []
    if response.status_code != 404:
        failures.append(f"{method} on the foreign object answered {response.status_code}")
    if row(target) != before:
        failures.append(f"{method} on the foreign object changed it")
    return failures


def check_list(route, client, target, scope) -> list[str]:
    """The foreign object is not listed, and a filter naming a foreign id is a 404, as
    one naming an id that exists nowhere is: the answer never tells that the id exists."""
    failures = []
    response = client.get(reverse(route.name), {"page_size": 100})
    listed = [item["id"] for item in response.json().get("results", [])]
    if response.status_code != 200 or target.pk in listed:
        failures.append(f"the list answered {response.status_code} and showed {listed}")
    for name, model in tenant_id_filters(route).items():
        related = make(model, **scope)
        filtered = client.get(reverse(route.name), {name: related.pk})
        unknown = client.get(reverse(route.name), {name: model._meta.pk.get_default()})
        if filtered.status_code != 404 or unknown.status_code != 404:
            failures.append(
                f"?{name}=<foreign id> answered {filtered.status_code}, "
                f"?{name}=<unknown id> {unknown.status_code}"
            )
    return failures


def check_lookup(route, client, target) -> list[str]:
    """A lookup naming the foreign object by its own values (its code) finds nothing."""
    operation = openapi_document()["paths"][f"/{route.display}"]["get"]
    params = {name: getattr(target, name) for name in query_parameters(operation)}
    response = client.get(reverse(route.name), params)
    if response.status_code != 404:
        return [f"the lookup {params} answered {response.status_code}"]
    return []


def check_body_ids(route, method, client, scope, own_scope) -> list[str]:
    """A foreign id in the body of a create or update is a 400 on that field."""
    failures = []
    own = make(route.model, **own_scope) if route.detail else None
    url = reverse(route.name, kwargs={"pk": own.pk}) if own else reverse(route.name)
    for name, field in tenant_relations(route).items():
        related = make(relation_of(field).queryset.model, **scope)
        count_before = route.model._default_manager.count()
        own_before = row(own) if own else None
        body = writable_representation(route, own) if method == "PUT" else {}
        body[name] = relation_value(field, related)
        response = getattr(client, method.lower())(url, body, format="json")
        if response.status_code != 400 or name not in response.json():
            failures.append(
                f"{name}=<foreign id> answered {response.status_code} {response.json()}"
            )
        if route.model._default_manager.count() != count_before:
            failures.append(f"{name}=<foreign id> created an object")
        if own and row(own) != own_before:
            failures.append(f"{name}=<foreign id> changed the caller's own object")
    return failures


@pytest.mark.parametrize("foreign", FOREIGNERS)
@pytest.mark.parametrize(("route", "method"), ROUTE_METHODS)
def test_objects_of_another_tenant_are_invisible(route, method, foreign, tenant, other_tenant):
    # Arrange
    foreign_workspace = other_tenant.workspace if foreign.other_workspace else tenant.workspace
    scope = {"workspace": foreign_workspace, "test_mode": foreign.object_test_mode}
    own_scope = {"workspace": tenant.workspace, "test_mode": foreign.caller_test_mode}
    client = caller_client(tenant, test_mode=foreign.caller_test_mode)
    target = make(route.model, **scope)

    # Act
    failures = []
    if route.detail:
        failures += check_detail(route, method, client, target)
    elif method == "GET" and route.actions["get"] == "list":
        failures += check_list(route, client, target, scope)
    elif method == "GET":
        failures += check_lookup(route, client, target)
    if method in ("PUT", "PATCH") or (method == "POST" and not route.detail):
        failures += check_body_ids(route, method, client, scope, own_scope)

    # Assert
    assert not failures, f"{method} {route.display} ({foreign.name}): " + "; ".join(failures)


def test_the_matrix_covers_the_tenant_resources():
    # A router change that hid the routes from the walk would make the matrix vacuous.
    displays = {route.display for route in discover_tenant_routes()}
    assert {"customers/", "customers/{pk}/", "customers/{pk}/archive/", "contacts/"} <= displays
