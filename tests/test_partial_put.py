"""PUT is a partial update on every resource that updates (api.md §1 Paths): Piriod's SDK
updates only with PUT and sends only the fields the user changed, and a retrieved object
PUT back unchanged is accepted and changes nothing.

The routes are walked from the URL router as tests/test_isolation.py walks them, so a
resource is covered the moment its update route is registered; its object comes from
tests/factories.py.
"""

from typing import Any

import pytest
from django.urls import reverse
from rest_framework import serializers

from billing.models import Event
from tests.conftest import make_tenant
from tests.live import openapi_document
from tests.test_isolation import Route, discover_tenant_routes, make

UPDATE_ROUTES = [
    pytest.param(route, id=route.display)
    for route in discover_tenant_routes()
    if route.actions.get("put") == "update"
]


def single_field_changes(route: Route) -> list[tuple[str, Any]]:
    """One-field bodies every resource takes: its metadata, and its name where it has one."""
    fields = route.viewset.serializer_class().fields
    changes: list[tuple[str, Any]] = [("metadata", {"crm": "42"})]
    name = fields.get("name")
    if type(name) is serializers.CharField and not name.read_only:
        changes.append(("name", "Renamed by PUT"))
    return changes


SINGLE_FIELD_PUTS = [
    pytest.param(route, field, value, id=f"{route.display} {field}")
    for route in discover_tenant_routes()
    if route.actions.get("put") == "update"
    for field, value in single_field_changes(route)
]


@pytest.fixture(autouse=True)
def _webhook_hosts_are_not_resolved(settings):
    # The factories' webhook hosts (hooks0.example.com) are not resolvable from tests, and
    # an endpoint's URL is checked on every save.
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in names}


@pytest.mark.parametrize("route", UPDATE_ROUTES)
def test_a_retrieved_object_put_back_is_accepted_and_changes_nothing(route, tenant):
    # Arrange
    target = make(route.model, workspace=tenant.workspace, test_mode=False)
    url = reverse(route.name, kwargs={"pk": target.pk})
    retrieved = tenant.client.get(url).json()
    events_before = set(Event.objects.values_list("id", flat=True))

    # Act: every field, read-only ones and nested lines with their ids and totals included
    response = tenant.client.put(url, retrieved, format="json")

    # Assert
    assert response.status_code == 200, response.json()
    assert without(response.json(), "updated") == without(retrieved, "updated")
    assert without(tenant.client.get(url).json(), "updated") == without(retrieved, "updated")
    new_events = Event.objects.exclude(id__in=events_before).values_list("type", flat=True)
    assert all(event_type.endswith(".updated") for event_type in new_events), new_events


@pytest.mark.parametrize(("route", "field", "value"), SINGLE_FIELD_PUTS)
def test_a_put_of_one_field_changes_only_that_field(route, field, value, tenant):
    # Arrange
    target = make(route.model, workspace=tenant.workspace, test_mode=False)
    url = reverse(route.name, kwargs={"pk": target.pk})
    retrieved = tenant.client.get(url).json()

    # Act
    response = tenant.client.put(url, {field: value}, format="json")

    # Assert
    assert response.status_code == 200, response.json()
    assert response.json()[field] == value
    assert without(response.json(), field, "updated") == without(retrieved, field, "updated")


@pytest.mark.parametrize("route", UPDATE_ROUTES)
def test_a_put_naming_an_unknown_field_is_refused(route, tenant):
    # Arrange
    target = make(route.model, workspace=tenant.workspace, test_mode=False)
    url = reverse(route.name, kwargs={"pk": target.pk})
    retrieved = tenant.client.get(url).json()

    # Act
    response = tenant.client.put(url, {"nmae": "Typo"}, format="json")

    # Assert
    assert response.status_code == 400
    assert response.json() == {"nmae": ["Unknown field."]}
    assert tenant.client.get(url).json() == retrieved


def read_only_status_change(route: Route) -> str | None:
    """Another value of the resource's read-only `status`, or None when it has none (or
    a body may set it)."""
    field = route.viewset.serializer_class().fields.get("status")
    if field is None or not field.read_only:
        return None
    choices = route.model._meta.get_field(field.source).choices or []
    values = [value for value, _ in choices]
    # The last state differs from the one a factory makes (draft, active, pending).
    return values[-1] if len(values) > 1 else None


STATUS_PUTS = [
    pytest.param(route, status, id=route.display)
    for route in discover_tenant_routes()
    if route.actions.get("put") == "update"
    and (status := read_only_status_change(route)) is not None
]


@pytest.mark.parametrize(("route", "status"), STATUS_PUTS)
def test_a_put_changing_a_read_only_status_is_refused_not_dropped(route, status, tenant):
    # Arrange
    target = make(route.model, workspace=tenant.workspace, test_mode=False)
    url = reverse(route.name, kwargs={"pk": target.pk})
    retrieved = tenant.client.get(url).json()
    assert retrieved["status"] != status

    # Act: a Piriod user asking for a state change through the body
    response = tenant.client.put(url, {"status": status}, format="json")

    # Assert: the actions change it; a body that asks for it is told so, not answered 200
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["status"]
    assert tenant.client.get(url).json() == retrieved


@pytest.mark.parametrize("route", UPDATE_ROUTES)
def test_a_put_naming_the_other_mode_is_refused_not_dropped(route, tenant):
    # Arrange
    target = make(route.model, workspace=tenant.workspace, test_mode=False)
    url = reverse(route.name, kwargs={"pk": target.pk})
    retrieved = tenant.client.get(url).json()

    # Act: the mode is the x-piriod-test-mode header's, never the body's
    response = tenant.client.put(url, {"test_mode": True}, format="json")

    # Assert
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["test_mode"]
    assert tenant.client.get(url).json() == retrieved


def test_a_create_naming_the_other_mode_is_refused_and_its_own_mode_accepted(tenant):
    body = {"name": "Andes SpA", "country": "US"}

    live_body_says_test = tenant.client.post("/customers/", {**body, "test_mode": True})
    live_body_says_live = tenant.client.post("/customers/", {**body, "test_mode": False})

    assert live_body_says_test.status_code == 400
    assert list(live_body_says_test.json()) == ["test_mode"]
    assert live_body_says_live.status_code == 201, live_body_says_live.json()
    assert live_body_says_live.json()["test_mode"] is False


def test_a_test_mode_create_accepts_its_own_mode_in_the_body(db):
    tester = make_tenant(test_mode=True)

    response = tester.client.post(
        "/customers/", {"name": "Andes SpA", "country": "US", "test_mode": True}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["test_mode"] is True


def test_the_walk_finds_the_updatable_resources():
    # A router change that hid the routes from the walk would make these tests vacuous.
    displays = {param.values[0].display for param in UPDATE_ROUTES}
    assert {"customers/{pk}/", "invoices/{pk}/", "retentions/{pk}/"} <= displays
    with_status = {param.values[0].display for param in STATUS_PUTS}
    assert {"customers/{pk}/", "subscriptions/{pk}/", "purchases/{pk}/"} <= with_status


def test_the_openapi_put_bodies_are_the_patch_bodies_every_field_optional():
    # Arrange
    document = openapi_document()
    operations = [item for item in document["paths"].values() if "put" in item]

    # Act
    bodies = [
        (item["put"]["requestBody"], item["patch"]["requestBody"]["content"]) for item in operations
    ]

    # Assert
    assert operations
    for put, patch_content in bodies:
        assert put["content"] == patch_content
        assert not put.get("required", False)
        name = put["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert "required" not in document["components"]["schemas"][name]
