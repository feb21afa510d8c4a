"""List filters reach the database only through lookups the code declares: django-filter's
declared filters, and `?metadata__<key>=` comparing one key's string value exactly."""

import datetime

import django_filters
import pytest
from django.db import models
from django.urls import get_resolver
from rest_framework.settings import api_settings

from billing.api.filters import ApiFilterSet, MetadataFilterBackend, StrictBooleanField
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import FinalizedInvoiceFactory, InvoiceFactory
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


DECLARED_LOOKUPS = {
    "exact", "iexact", "icontains", "in", "gte", "lte", "gt", "lt", "range", "isnull",
}  # fmt: skip


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
            if declared.method is not None or model is None:
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
        and filterset._meta.model is not None
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


def test_every_range_has_strict_bounds_and_between() -> None:
    """`x__gte`/`x__lte` bring `x__gt`, `x__lt` and `x__between`, the operators the API
    documents, on every resource."""
    missing = [
        f"{filterset.__name__}.{name}"
        for filterset in _filtersets()
        for name in filterset.base_filters
        for wanted in ([name.replace("__gte", "__gt")] if name.endswith("__gte") else [])
        + ([name.replace("__lte", "__lt")] if name.endswith("__lte") else [])
        if wanted not in filterset.base_filters
    ]

    assert missing == []


def test_strict_bounds_and_between_narrow_a_list(tenant) -> None:  # type: ignore[no-untyped-def]
    early = InvoiceFactory(workspace=tenant.workspace, date=datetime.date(2026, 1, 10))
    middle = InvoiceFactory(workspace=tenant.workspace, date=datetime.date(2026, 1, 20))
    late = InvoiceFactory(workspace=tenant.workspace, date=datetime.date(2026, 1, 30))

    def ids(query: dict[str, str]) -> set[str]:
        response = tenant.client.get("/invoices/", query)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids({"date__gt": "2026-01-20"}) == {late.id}
    assert ids({"date__lt": "2026-01-20"}) == {early.id}
    assert ids({"date__between": "2026-01-10,2026-01-20"}) == {early.id, middle.id}
    assert ids({"total__gt": "99999999"}) == set()
    assert ids({"total__between": "1,2"}) == set()
    assert ids({"total__between": f"{middle.total},{middle.total}"}) == {
        early.id,
        middle.id,
        late.id,
    }
    assert ids({"created__gt": "2030-01-01"}) == set()


@pytest.mark.parametrize("value", ["1", "1,2,3", ",5", "5,", "a,b"])
def test_a_malformed_between_is_400(tenant, value) -> None:  # type: ignore[no-untyped-def]
    response = tenant.client.get("/invoices/", {"total__between": value})

    assert response.status_code == 400
    assert list(response.json()) == ["total__between"]


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/invoices/", "document__in"),
        ("/invoices/", "customer__in"),
        ("/customers/", "created"),
        ("/generals/currencies/", "bogus"),
        ("/webhooks/", "nope"),
        ("/workspaces/", "nope"),
        ("/contacts/", "search_term"),
        ("/reminders/messages/", "search"),  # not searchable: documented nowhere
    ],
)
def test_an_unknown_query_parameter_on_a_list_is_400(tenant, path, param) -> None:  # type: ignore[no-untyped-def]
    response = tenant.client.get(path, {param: "x"})

    assert response.status_code == 400, response.content
    assert response.json() == {param: ["Unknown filter."]}


def test_a_list_takes_its_pagination_ordering_search_expand_and_metadata(tenant) -> None:  # type: ignore[no-untyped-def]
    invoice = InvoiceFactory(workspace=tenant.workspace, metadata={"crm": "1"})

    response = tenant.client.get(
        "/invoices/?page=1&page_size=5&ordering=-created&search=&expand=customer"
        "&expand[]=customer&format=json&metadata__crm=1"
    )

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [invoice.id]


def test_a_detail_route_ignores_query_parameters_it_does_not_read(tenant) -> None:  # type: ignore[no-untyped-def]
    invoice = InvoiceFactory(workspace=tenant.workspace)

    response = tenant.client.get(f"/invoices/{invoice.id}/", {"bogus": "1"})

    assert response.status_code == 200


def test_an_in_filter_takes_an_array_with_brackets(tenant) -> None:  # type: ignore[no-untyped-def]
    draft = InvoiceFactory(workspace=tenant.workspace)
    FinalizedInvoiceFactory(workspace=tenant.workspace)

    both = tenant.client.get("/invoices/?status__in[]=draft&status__in[]=finalized")
    one = tenant.client.get("/invoices/?status__in[]=draft")
    bogus = tenant.client.get("/invoices/?status__in[]=draft&status__in[]=bogus")

    assert both.status_code == one.status_code == 200
    assert both.json()["count"] == 2
    assert [row["id"] for row in one.json()["results"]] == [draft.id]
    assert bogus.status_code == 400


def test_a_search_finds_a_customers_tax_id_however_it_is_spelled(tenant) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=tenant.workspace, country_id="CL", tax_id="76086428-5")
    invoice = InvoiceFactory(workspace=tenant.workspace, customer=customer)
    InvoiceFactory(workspace=tenant.workspace)  # another customer's

    for spelled in ("76086428-5", "76.086.428-5", "076.086.428-5"):
        response = tenant.client.get("/invoices/", {"search": spelled})

        assert [row["id"] for row in response.json()["results"]] == [invoice.id], spelled
