"""Helpers for tests that drive the API from its OpenAPI document: the document's
operations, and a tenant holding one real object of each resource so that detail
routes can be called with ids that exist."""

from functools import cache
from typing import Any

from django.db.models import Model
from django.test import override_settings
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from billing.models import DocumentType, Event, State
from invoices.models import Order, OrderStatus
from payments.models import Intent
from procurement.models import Retention
from tests.conftest import Tenant
from tests.factories import FACTORIES

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@cache
def openapi_document() -> dict[str, Any]:
    """The document /openapi.json serves, generated in-process."""
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) for every operation the document describes."""
    return [
        (method.upper(), path, operation)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def query_parameters(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def seed_objects(tenant: Tenant) -> dict[str, str]:
    """One object of each resource for the tenant, through the API; their ids keyed by
    the collection path their detail routes start with."""
    client = tenant.client
    created = client.post(
        "/customers/", {"name": "ACME SpA", "country": "CL", "tax_id": "76.086.428-5"}
    )
    assert created.status_code == 201, created.content
    customer = created.json()
    created = client.post("/contacts/", {"customer": customer["id"], "name": "Ana"})
    assert created.status_code == 201, created.content
    contact = created.json()
    # The endpoint's host is not resolved here; the tests never deliver to it.
    with override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=True):
        created = client.post(
            "/webhooks/", {"url": "https://hooks.example.com/in", "events": ["*"]}
        )
    assert created.status_code == 201, created.content
    event = Event.objects.filter(workspace=tenant.workspace).order_by("-created_at").first()
    assert event is not None, "creating a customer records an event"
    ids = {
        "/customers/": customer["id"],
        "/contacts/": contact["id"],
        "/webhooks/": created.json()["id"],
        "/events/log/": event.id,
        "/workspaces/": tenant.workspace.id,
        "/generals/countries/": "CL",
        "/generals/currencies/": "CLP",
        "/generals/states/": State.objects.filter(country="CL").values_list("code", flat=True)[0],
        "/generals/documents/": str(DocumentType.objects.filter(code="33").get().id),
    }
    # Any other tenant resource: one object from its factory (tests/factories.py).
    for _, path, _ in operations():
        prefix = path[: path.find("{")]
        if "{" not in path or prefix in ids:
            continue
        model = _model_behind(path)
        if model in FACTORIES:
            ids[prefix] = str(FACTORIES[model](workspace=tenant.workspace, test_mode=False).pk)
    _refer_to_seeded_objects(tenant, ids)
    return ids


def _refer_to_seeded_objects(tenant: Tenant, ids: dict[str, str]) -> None:
    """Link seeded objects the way real ones are, so that their deletes meet the rules
    that keep them: the order has an intent, the purchase a retention linking it, the
    invoice is an invoiced order's draft."""
    Intent.objects.filter(pk=ids["/intents/"]).update(order_id=ids["/orders/"])
    Retention.objects.filter(pk=ids["/retentions/"]).update(purchase_id=ids["/purchases/"])
    FACTORIES[Order](
        workspace=tenant.workspace,
        test_mode=False,
        status=OrderStatus.INVOICED,
        invoice_id=ids["/invoices/"],
    )


def _model_behind(path: str) -> type[Model] | None:
    view = getattr(resolve(fill_path(path, "x")).func, "cls", None)
    queryset = getattr(view, "queryset", None)
    return queryset.model if queryset is not None else None


def real_id(path: str, ids: dict[str, str]) -> str | None:
    """The seeded id for a detail path such as `/customers/{id}/archive/`."""
    for prefix, value in ids.items():
        if path.startswith(prefix + "{"):
            return value
    return None


def fill_path(path: str, value: str) -> str:
    """The path with its single `{param}` replaced by `value`."""
    start, end = path.index("{"), path.index("}")
    return path[:start] + value + path[end + 1 :]
