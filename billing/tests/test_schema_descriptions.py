"""A component's description is its own serializer's docstring, never one it inherits: a
shared base's speaks of what the base is (the totals a document stores, read-only), which
would mislead on every component built from a subclass, request bodies first."""

import inspect

import pytest
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers


@pytest.fixture(scope="module")
def generated():
    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    return generator.registry, schema["components"]["schemas"]


def own_doc(serializer: serializers.BaseSerializer) -> str:
    doc = vars(type(serializer)).get("__doc__")
    return inspect.cleandoc(doc) if doc else ""


def test_no_request_component_is_described_as_read_only_totals(generated):
    _, components = generated

    described = {
        name: component["description"]
        for name, component in components.items()
        if name.endswith("Request") and "read-only" in component.get("description", "")
    }

    assert described == {}
    assert "description" not in components["InvoiceRequest"]


def test_every_serializer_component_is_described_by_its_own_docstring(generated):
    registry, components = generated
    serializer_components = [
        (component.name, component.object)
        for component in registry._components.values()
        if isinstance(component.object, serializers.BaseSerializer)
        and component.name in components
        # An extension (the validation error's) writes its own schema; a list's page
        # envelope is the paginator's, not its items' serializer's.
        and OpenApiSerializerExtension.get_match(component.object) is None
        and not component.name.startswith("Paginated")
    ]
    assert len(serializer_components) > 100

    wrong = {
        name: components[name].get("description", "")
        for name, serializer in serializer_components
        if components[name].get("description", "") != own_doc(serializer)
    }

    assert wrong == {}
