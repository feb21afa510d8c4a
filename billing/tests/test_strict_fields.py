"""Unknown body fields are a 400 at every depth: every serializer an API route writes
with, and every writable serializer nested in it (a meter's filters, a document's lines,
a plan's tiers), refuses the fields it does not know (StrictFieldsMixin)."""

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers

from billing.representations import StrictFieldsMixin


def _views(patterns: list[URLPattern | URLResolver]) -> Iterator[type]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        elif (view := getattr(pattern.callback, "cls", None)) is not None:
            yield view


def _nested_lenient(serializer: serializers.BaseSerializer, path: str) -> Iterator[str]:
    for name, field in serializer.fields.items():  # type: ignore[attr-defined]
        if field.read_only:
            continue
        child = field.child if isinstance(field, serializers.ListSerializer) else field
        if isinstance(child, serializers.BaseSerializer):
            if not isinstance(child, StrictFieldsMixin):
                yield f"{path}.{name} ({type(child).__name__})"
            yield from _nested_lenient(child, f"{path}.{name}")


def test_every_nested_input_of_the_api_refuses_unknown_fields():
    written = {
        view.serializer_class
        for view in _views(get_resolver().url_patterns)
        if getattr(view, "serializer_class", None) is not None
    }
    lenient = [found for cls in written for found in _nested_lenient(cls(), cls.__name__)]
    assert lenient == []
