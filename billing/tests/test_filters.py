"""List filters reach the database only through lookups the code declares: django-filter's
declared filters, and `?metadata__<key>=` comparing one key's string value exactly."""

import django_filters
import pytest
from django.db import models
from django.urls import get_resolver
from rest_framework.settings import api_settings

from billing.api.filters import ApiFilterSet, MetadataFilterBackend, StrictBooleanField
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import InvoiceFactory
from procurement.models import Retention
from procurement.tests.factories import RetentionFactory

pytestmark = pytest.mark.django_db

# Each would be a JSON lookup, a regular expression or a cast if `__` split the key.
LOOKUP_SUFFIXES = [
    ("x__regex", "("),
    ("x__iregex", "[["),
    ("x__isnull", "maybe"),
    ("x__range", "abc"),
    ("x__contains", "{"),
    ("x__0__gt", "1"),
    ("x__has_key", "y"),
]


@pytest.mark.parametrize(
    ("path", "factory"), [("/customers/", CustomerFactory), ("/invoices/", InvoiceFactory)]
)
@pytest.mark.parametrize(("key", "value"), LOOKUP_SUFFIXES)
def test_a_metadata_key_is_taken_literally(tenant, path, factory, key, value) -> None:  # type: ignore[no-untyped-def]
    literal = factory(workspace=tenant.workspace, metadata={key: value})
    factory(workspace=tenant.workspace, metadata={"x": value})  # what a lookup would match
    factory(workspace=tenant.workspace, metadata={key: f"{value}-other"})

    response = tenant.client.get(path, {f"metadata__{key}": value})

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [literal.id]


def test_metadata_filters_compare_string_values_exactly(tenant) -> None:  # type: ignore[no-untyped-def]
    crm = CustomerFactory(workspace=tenant.workspace, metadata={"crm": "7", "tier": "gold"})
    CustomerFactory(workspace=tenant.workspace, metadata={"crm": "77", "tier": "gold"})
    CustomerFactory(workspace=tenant.workspace, metadata={"crm": "7"})

    found = tenant.client.get("/customers/", {"metadata__crm": "7", "metadata__tier": "gold"})

    assert [row["id"] for row in found.json()["results"]] == [crm.id]
    too_long = tenant.client.get("/customers/", {"metadata__" + "k" * 41: "v"})
    assert too_long.status_code == 400


def _filtersets() -> list[type[django_filters.FilterSet]]:
    found = []
    for pattern in get_resolver().url_patterns:
        for sub in getattr(pattern, "url_patterns", [pattern]):
            view = getattr(getattr(sub, "callback", None), "cls", None)
            filterset = getattr(view, "filterset_class", None)
            if filterset is not None and filterset not in found:
                found.append(filterset)
    return found


DECLARED_LOOKUPS = {"exact", "iexact", "icontains", "in", "gte", "lte", "gt", "lt", "isnull"}


def test_every_filter_uses_a_plain_lookup_on_a_plain_field() -> None:
    """No FilterSet filters a JSON column (whose keys would be lookups) or uses a lookup
    that takes a pattern (regex) from the caller."""
    filtersets = _filtersets()
    assert len(filtersets) > 10
    problems = []
    for filterset in filtersets:
        model = filterset._meta.model
        for name, declared in filterset.base_filters.items():
            if declared.lookup_expr not in DECLARED_LOOKUPS:
                problems.append(f"{filterset.__name__}.{name}: {declared.lookup_expr}")
            if declared.method is not None:
                continue  # a method filter builds its own query from its declared lookup
            field = model._meta.get_field(declared.field_name.split("__")[0])
            if isinstance(field, models.JSONField):
                problems.append(f"{filterset.__name__}.{name}: filters JSON column {field.name}")
    assert problems == []
    assert MetadataFilterBackend in api_settings.DEFAULT_FILTER_BACKENDS


def test_every_boolean_filter_takes_true_or_false_only() -> None:
    """A value such as `1` or `maybe` is a 400, as the test-mode header's is, never a
    filter silently dropped from the list."""
    filtersets = _filtersets()

    lenient = [
        f"{filterset.__name__}.{name}"
        for filterset in filtersets
        for name, declared in filterset.base_filters.items()
        if isinstance(declared, django_filters.BooleanFilter)
        and not issubclass(declared.field_class, StrictBooleanField)
    ]

    assert lenient == []
    assert [f.__name__ for f in filtersets if not issubclass(f, ApiFilterSet)] == []


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/contacts/", {"invoicing": "maybe"}),
        ("/reminders/rules/", {"active": "1"}),
        ("/subscriptions/", {"needs_attention": "yes"}),
    ],
)
def test_a_boolean_filter_that_is_not_true_or_false_is_400(tenant, path, query) -> None:  # type: ignore[no-untyped-def]
    response = tenant.client.get(path, query)

    assert response.status_code == 400
    assert list(response.json()) == list(query)


def _choices_of(model: type[models.Model], path: str) -> list | None:  # type: ignore[type-arg]
    field = None
    for part in path.split("__"):
        field = model._meta.get_field(part)
        model = field.related_model or model  # type: ignore[assignment]
    return getattr(field, "choices", None)


def test_every_in_filter_on_a_choice_field_takes_its_choices_only() -> None:
    """`?status__in=bogus` is a 400 as `?status=bogus` is, never a value silently matching
    nothing."""
    lenient = [
        f"{filterset.__name__}.{name}"
        for filterset in _filtersets()
        for name, declared in filterset.base_filters.items()
        if declared.lookup_expr == "in"
        and declared.method is None
        and _choices_of(filterset._meta.model, declared.field_name)
        and not issubclass(declared.field_class, django_filters.fields.ChoiceField)
    ]

    assert lenient == []


@pytest.mark.parametrize(
    ("path", "name", "good"),
    [
        ("/invoices/", "status", "draft"),
        ("/customers/", "status", "active"),
        ("/subscriptions/", "status", "active"),
        ("/meters/", "aggregation", "count"),
    ],
)
def test_an_unknown_value_of_a_choice_in_filter_is_400(tenant, path, name, good) -> None:  # type: ignore[no-untyped-def]
    one = tenant.client.get(path, {name: "bogus"})
    listed = tenant.client.get(path, {f"{name}__in": f"bogus,{good}"})
    repeated = tenant.client.get(f"{path}?{name}__in={good}&{name}__in=bogus")
    fine = tenant.client.get(path, {f"{name}__in": f"{good},{good}"})

    assert (one.status_code, listed.status_code, repeated.status_code) == (400, 400, 400)
    assert listed.json() == repeated.json() == {f"{name}__in": one.json()[name]}
    assert "bogus" in one.json()[name][0]
    assert fine.status_code == 200


def _ordered_views() -> list[type]:
    found = []
    for pattern in get_resolver().url_patterns:
        for sub in getattr(pattern, "url_patterns", [pattern]):
            view = getattr(getattr(sub, "callback", None), "cls", None)
            if getattr(view, "ordering_fields", None) and view not in found:
                found.append(view)
    return found


def test_every_ordering_field_is_a_field_the_view_shows() -> None:
    views = _ordered_views()
    assert len(views) > 10
    hidden = {
        view.__name__: names
        for view in views
        if (names := [n for n in view.ordering_fields if n not in view.serializer_class().fields])
    }
    assert hidden == {}


def test_retentions_order_by_the_total_they_show(tenant) -> None:  # type: ignore[no-untyped-def]
    small, large = (RetentionFactory(workspace=tenant.workspace) for _ in range(2))
    Retention.objects.filter(pk=small.pk).update(total_adjusted=1)

    ascending = tenant.client.get("/retentions/", {"ordering": "total"})
    descending = tenant.client.get("/retentions/", {"ordering": "-total"})

    assert ascending.status_code == 200, ascending.json()
    assert [r["id"] for r in ascending.json()["results"]] == [small.pk, large.pk]
    assert [r["id"] for r in descending.json()["results"]] == [large.pk, small.pk]
