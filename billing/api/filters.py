"""List filters shared by every resource: metadata, search and ordering.

Field filters (`?status__in=`, `?created__gte=`) are declared per resource with
django-filter; these backends cover what every resource has in common.
"""

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import Model, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact
from django.utils import timezone
from django_filters.fields import BaseCSVField, IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.widgets import BaseCSVWidget
from rest_framework import exceptions, filters, serializers
from rest_framework.request import Request

from billing.addresses import comuna_code
from billing.instants import instant_parse
from billing.models import Country, Currency, TenantModel
from billing.representations import METADATA_KEY_MAX_LENGTH
from billing.tax_ids import tax_id_lookup

METADATA_PREFIX = "metadata__"


class UtcIsoDateTimeField(IsoDateTimeField):
    """A datetime bound, read as every input datetime is (billing.instants) in the
    current timezone, which FilterBackend sets to the workspace's, and given to the query
    in UTC: Python accepts offsets up to ±23:59 and PostgreSQL only to ±15:59."""

    def to_python(self, value: Any) -> datetime | None:
        if not isinstance(value, str):
            return super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return instant_parse(value, timezone.get_current_timezone())
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StrictBooleanField(forms.Field):
    """`true` or `false` (any case), as the test-mode header takes them: anything else is
    a 400, where Django's NullBooleanField reads it as "no filter" and lists everything."""

    widget = forms.TextInput
    default_error_messages = {"invalid": "Enter true or false."}

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return text == "true"


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


_STRICT_BOUNDS = {"gte": "gt", "lte": "lt"}


def _with_every_bound(filters: dict[str, Any]) -> dict[str, Any]:
    """`x__gte` and `x__lte` bring `x__gt`, `x__lt` and, with both, `x__between=a,b`
    (inclusive): the operators the API documents, declared once for every range."""
    for name, declared in list(filters.items()):
        base, _, lookup = name.rpartition("__")
        if lookup not in _STRICT_BOUNDS or declared.lookup_expr != lookup or declared.method:
            continue
        options = {"distinct": declared.distinct, "exclude": declared.exclude, **declared.extra}
        strict = _STRICT_BOUNDS[lookup]
        filters.setdefault(
            f"{base}__{strict}",
            type(declared)(field_name=declared.field_name, lookup_expr=strict, **options),
        )
        upper = filters.get(f"{base}__lte")
        if lookup == "gte" and upper is not None and upper.field_name == declared.field_name:
            between = type(f"{type(declared).__name__}Between", (BetweenFilter, type(declared)), {})
            filters.setdefault(
                f"{base}__between", between(field_name=declared.field_name, **options)
            )
    return filters


class BetweenField(BaseCSVField):
    """`from,to`: exactly two values, neither empty."""

    default_error_messages = {"invalid_values": "Enter two values separated by a comma: from,to."}

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value is not None and (len(value) != 2 or None in value):
            raise ValidationError(self.error_messages["invalid_values"], code="invalid_values")
        return value


class BetweenFilter(django_filters.BaseRangeFilter):
    """`?total__between=10,20`: from and to, both included."""

    base_field_class = BetweenField


class ApiFilterSet(django_filters.FilterSet):
    """The base of every FilterSet of the API: boolean filters, declared or generated from
    `Meta.fields`, are strict (StrictBooleanField), an `__in` filter on a field with
    choices takes those choices only (ChoiceInFilter), as the field's own filter does, and
    every range has all its operators (`_with_every_bound`)."""

    FILTER_DEFAULTS = {
        **django_filters.filterset.FILTER_FOR_DBFIELD_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }

    @classmethod
    def get_filters(cls) -> dict[str, django_filters.Filter]:
        filters = _with_every_bound(super().get_filters())
        model = cls._meta.model
        for name, declared in filters.items() if model is not None else ():
            choices = _in_filter_choices(model, declared)
            if choices:
                filters[name] = ChoiceInFilter(
                    field_name=declared.field_name,
                    lookup_expr="in",
                    choices=choices,
                    label=declared.label,
                    distinct=declared.distinct,
                    exclude=declared.exclude,
                )
        return filters


def _in_filter_choices(model: type[Model], declared: django_filters.Filter) -> Any:
    """The choices of the model field an `__in` filter compares, if it has any."""
    if declared.lookup_expr != "in" or declared.method is not None:
        return None
    if isinstance(declared, ChoiceInFilter):
        return None
    field: Any = None
    try:
        for part in declared.field_name.split("__"):
            field = model._meta.get_field(part)
            model = field.related_model or model
    except FieldDoesNotExist:
        return None
    return getattr(field, "choices", None)


class TenantFilterSet(ApiFilterSet):
    """Ranges on the timestamps every resource carries, named as the API shows them.

    Datetime filters, declared or generated from `Meta.fields`, use IsoDateTimeFilter; a
    country or currency named in `Meta.fields` is a CodeFilter, in any case as a body takes
    it; a relation to a tenant model named in `Meta.fields` is a TenantIdFilter, never
    django-filter's ModelChoiceFilter, which looks the id up among every tenant's rows
    and so tells an id of another tenant (an empty list) from an unknown one (a 400); a
    `tax_id` is a TaxIdFilter, which matches the id however it is spelled.
    """

    FILTER_DEFAULTS = {
        **ApiFilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": IsoDateTimeFilter},
    }

    @classmethod
    def get_filters(cls) -> dict[str, django_filters.Filter]:
        filters = super().get_filters()
        model = cls._meta.model
        for declared in filters.values() if model is not None else ():
            _text_lookup_on_key(model, declared)
        return filters

    @classmethod
    def filter_for_field(
        cls, field: models.Field, field_name: str, lookup_expr: str | None = None
    ) -> django_filters.Filter:
        related = field.related_model
        if isinstance(related, type) and issubclass(related, TenantModel):
            if lookup_expr not in (None, "exact"):
                raise ImproperlyConfigured(
                    f"{cls.__name__}: {field_name}__{lookup_expr} takes ids of {related.__name__}; "
                    "declare it with a filter that scopes them to the tenant."
                )
            return TenantIdFilter(field_name=field_name, model=related)
        if related in (Country, Currency) and lookup_expr in (None, "exact"):
            return CodeFilter(field_name=field_name)
        if field_name == "tax_id" and lookup_expr in (None, "exact"):
            return TaxIdFilter(field_name=field_name)
        return super().filter_for_field(field, field_name, lookup_expr)

    created__gte = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created__lte = IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    updated__gte = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated__lte = IsoDateTimeFilter(field_name="updated_at", lookup_expr="lte")


_TEXT_LOOKUPS = {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith",
                 "iendswith", "regex", "iregex"}  # fmt: skip


def _text_lookup_on_key(model: type[Model], declared: django_filters.Filter) -> None:
    """`CharFilter(field_name="currency_id", lookup_expr="iexact")` compares the text of the
    referenced key (`currency__code`): a foreign key itself has no text lookups, and
    the query would fail with a FieldError (a 500) on every request that uses it."""
    if declared.lookup_expr not in _TEXT_LOOKUPS or "__" in declared.field_name:
        return
    try:
        field = model._meta.get_field(declared.field_name)
    except FieldDoesNotExist:
        return
    if isinstance(field, models.ForeignKey):
        declared.field_name = f"{field.name}__{field.target_field.name}"


class TaxIdFilter(django_filters.CharFilter):
    """`?tax_id=76.086.428-5` finds the 76086428-5 stored: the value is read as writes
    store a tax id (billing.tax_ids), for each row's country. Every `tax_id` in a
    filterset's `Meta.fields` is one."""

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in ([], (), {}, "", None):
            return qs
        return qs.filter(tax_id_lookup(value))


class CommaOrRepeatedWidget(BaseCSVWidget, forms.TextInput):
    """`?status__in=draft,finalized`, or the same key repeated (`?status__in=draft&
    status__in=finalized`), which generated clients send for an array parameter, or
    repeated with brackets (`?status__in[]=draft&status__in[]=finalized`), as axios does."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if not hasattr(data, "getlist"):
            return super().value_from_datadict(data, files, name)
        values = data.getlist(name) + data.getlist(f"{name}[]")
        if len(values) > 1 or f"{name}[]" in data:
            return [part for value in values for part in value.split(",")]
        return super().value_from_datadict(data, files, name)


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """`?status__in=draft,finalized`"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", CommaOrRepeatedWidget)
        super().__init__(*args, **kwargs)


class CodeFilter(django_filters.CharFilter):
    """`?currency=clp`: a reference data's code (a country, a currency), stored in capitals,
    in any case, as writes take it. Every country or currency in a filterset's
    `Meta.fields` is one."""

    def filter(self, qs: Any, value: Any) -> Any:
        return super().filter(qs, value.upper() if value else value)


class CodeInFilter(CharInFilter):
    """`?country__in=cl,ar`: reference data's codes (countries, currencies), stored in
    capitals, in any case, as `?country=` and writes take them."""

    def filter(self, qs: Any, value: Any) -> Any:
        return super().filter(qs, [code.upper() for code in value] if value else value)


class ComunaCodeFilter(django_filters.CharFilter):
    """`?code=5101` finds Valparaíso's 05101, as a body's `comuna` reads it."""

    def filter(self, qs: Any, value: Any) -> Any:
        return super().filter(qs, comuna_code(value) if value else value)


class ComunaCodeInFilter(CharInFilter):
    """`?code__in=5101,13101`, each code read as `?code=` reads it."""

    def filter(self, qs: Any, value: Any) -> Any:
        return super().filter(qs, [comuna_code(code) for code in value] if value else value)


class ChoiceInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """`?status__in=draft,finalized`, each value one of the field's choices: an unknown
    one is a 400 naming it, as `?status=` answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", CommaOrRepeatedWidget)
        super().__init__(*args, **kwargs)


class BooleanInFilter(django_filters.BaseInFilter, BooleanFilter):
    """`?is_sale__in=true,false`"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", CommaOrRepeatedWidget)
        super().__init__(*args, **kwargs)


class TenantIdFilter(django_filters.CharFilter):
    """A filter on a related object's id: an id outside the caller's tenant is a 404,
    exactly as the object's own route would answer. `tenant` is the path to the model's
    workspace and mode when it belongs to them through another model ("subscription__"
    for a subscription's line)."""

    def __init__(self, *args: Any, model: type[Model], tenant: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.related_model = model
        self.tenant = tenant

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in ([], (), {}, "", None):
            return qs
        self.check_exists(value)
        return super().filter(qs, value)

    def check_exists(self, value: Any) -> None:
        """404 unless `value` is the id of one of the caller's objects."""
        request = self.parent.request
        scope = {
            f"{self.tenant}workspace": request.workspace,
            f"{self.tenant}test_mode": request.test_mode,
        }
        try:
            exists = self.related_model._default_manager.filter(pk=value, **scope).exists()
        except (ValueError, TypeError):  # not even the shape of the model's ids
            exists = False
        if not exists:
            raise exceptions.NotFound(f"No {self.related_model._meta.verbose_name} {value}.")


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, whose filtersets generated from a view's
    `filterset_fields` are TenantFilterSets on tenant models (their ids scoped, their
    timestamps filterable), built once per model and fields.

    A datetime bound without its UTC offset, or a bare date (its midnight), is read in
    the workspace's timezone, as every input datetime is (WorkspaceDateTimeField)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        workspace = getattr(request, "workspace", None)
        if workspace is None:
            return super().filter_queryset(request, queryset, view)
        with timezone.override(ZoneInfo(workspace.timezone)):
            return super().filter_queryset(request, queryset, view)

    def takes_param(self, view: Any, name: str) -> bool:
        filterset = self.get_filterset_class(view, view.get_queryset())
        filters = filterset.base_filters if filterset is not None else {}
        if name in filters:
            return True
        listed = filters.get(name.removesuffix("[]")) if name.endswith("[]") else None
        return listed is not None and listed.extra.get("widget") is CommaOrRepeatedWidget

    def get_filterset_class(
        self, view: Any, queryset: QuerySet | None = None
    ) -> type[django_filters.FilterSet] | None:
        fields = getattr(view, "filterset_fields", None)
        if getattr(view, "filterset_class", None) or not fields or queryset is None:
            return super().get_filterset_class(view, queryset)
        key = (queryset.model, tuple(fields))
        if key not in _GENERATED_FILTERSETS:
            _GENERATED_FILTERSETS[key] = _generated_filterset(*key)
        return _GENERATED_FILTERSETS[key]


_GENERATED_FILTERSETS: dict[
    tuple[type[Model], tuple[str, ...]], type[django_filters.FilterSet]
] = {}


def _generated_filterset(
    model: type[Model], fields: tuple[str, ...]
) -> type[django_filters.FilterSet]:
    base = TenantFilterSet if issubclass(model, TenantModel) else ApiFilterSet
    meta = type("Meta", (), {"model": model, "fields": list(fields)})
    return type(f"{model.__name__}FilterSet", (base,), {"Meta": meta})


class MetadataFilterBackend(filters.BaseFilterBackend):
    """`?metadata__<key>=value` matches objects whose metadata has exactly that string value
    under exactly that key.

    Everything after the prefix is the key, `__` included (`?metadata__a__regex=x` looks
    for the key `a__regex`): the key is a value of the query, never part of the ORM lookup
    path, so a caller cannot reach JSON lookups, regular expressions or casts.
    """

    def takes_param(self, view: Any, name: str) -> bool:
        return name.startswith(METADATA_PREFIX) and _has_metadata(view.get_queryset().model)

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if not _has_metadata(queryset.model):
            return queryset
        for param, value in request.query_params.items():
            if not param.startswith(METADATA_PREFIX):
                continue
            key = param[len(METADATA_PREFIX) :]
            if not 1 <= len(key) <= METADATA_KEY_MAX_LENGTH:
                raise exceptions.ValidationError(
                    {param: [f"Metadata keys are 1 to {METADATA_KEY_MAX_LENGTH} characters."]}
                )
            queryset = queryset.filter(Exact(KeyTextTransform(key, "metadata"), value))
        return queryset


def _has_metadata(model: type[Model]) -> bool:
    return any(f.name == "metadata" for f in model._meta.get_fields())


_TEXT_FIELDS = (models.CharField, models.TextField)


def _final_field(model: type[Model], path: str) -> Any:
    """The field `path` (`customer__name`) names from `model`, or None."""
    field: Any = None
    for name in path.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if field.related_model is not None:
            model = field.related_model
    return field


class SearchFilter(filters.SearchFilter):
    """`?search=` over the view's `search_fields`. A view without them ignores the
    parameter, so its operation does not document it."""

    def takes_param(self, view: Any, name: str) -> bool:
        return name == self.search_param and bool(getattr(view, "search_fields", None))

    def construct_search(self, field_name: str, queryset: QuerySet) -> str:
        # A plain term matches text folded (billing.text_fold): `ñandu` finds `Ñandú`.
        lookup = super().construct_search(field_name, queryset)
        path = lookup.removesuffix("__icontains")
        if path != lookup and isinstance(_final_field(queryset.model, path), _TEXT_FIELDS):
            return f"{path}__folded_contains"
        return lookup

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        """Also finds a tax id among the searched fields however it is spelled, as
        `?tax_id=` does: `76.086.428-5` finds the 76086428-5 stored."""
        found = super().filter_queryset(request, queryset, view)
        terms = self.get_search_terms(request)
        fields = [
            field
            for field in getattr(view, "search_fields", None) or ()
            if field == "tax_id" or field.endswith("__tax_id")
        ]
        if len(terms) != 1 or not fields:
            return found
        spelled = Q()
        for field in fields:
            spelled |= tax_id_lookup(terms[0], prefix=field.removesuffix("tax_id"))
        also = queryset.filter(spelled)
        return found | (also.distinct() if found.query.distinct else also)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)


@cache
def _shown_sources(serializer_class: type[serializers.Serializer]) -> dict[str, str]:
    """Each field the serializer shows, by the model field it reads (`total` of a
    retention is its `total_adjusted`)."""
    return {
        name: field.source.replace(".", "__")
        for name, field in serializer_class().fields.items()
        if field.source and field.source != "*"
    }


class OrderingFilter(filters.OrderingFilter):
    """`?ordering=field|-field`, by the names the API shows (a view's `ordering_fields`
    are its serializer's), each mapped to the model field it reads.

    Ties are broken in the direction of the first term, so rows that tie (made in one
    transaction, at one timestamp) list in the order they were made either way: first by
    the view's `ordering_ties` (model fields, e.g. an event's per-object `sequence`), then
    by the primary key, always appended so pages never overlap when values tie.
    """

    aliases = {"created": "created_at", "updated": "updated_at"}

    def _model_field(self, view: Any, name: str) -> str:
        if name in self.aliases:
            return self.aliases[name]
        return _shown_sources(view.get_serializer_class()).get(name, name)

    def takes_param(self, view: Any, name: str) -> bool:
        return name == self.ordering_param

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        raw = request.query_params.get(self.ordering_param)
        if raw:
            allowed = set(getattr(view, "ordering_fields", []) or [])
            ordering = []
            for term in (t.strip() for t in raw.split(",") if t.strip()):
                name = term.lstrip("-")
                if name not in allowed:
                    raise exceptions.ValidationError(
                        {self.ordering_param: [f"Cannot order by {name!r}."]}
                    )
                descending = "-" if term.startswith("-") else ""
                ordering.append(f"{descending}{self._model_field(view, name)}")
        else:
            ordering = list(self.get_default_ordering(view) or queryset.model._meta.ordering)
        if not any(term.lstrip("-") in ("pk", "id") for term in ordering):
            direction = "" if ordering and not ordering[0].startswith("-") else "-"
            named = {term.lstrip("-") for term in ordering}
            ties = [tie for tie in getattr(view, "ordering_ties", ()) if tie not in named]
            ordering += [f"{direction}{tie}" for tie in (*ties, "pk")]
        return ordering

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = getattr(view, "ordering_fields", []) or []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by: " + ", ".join(f"`{f}`, `-{f}`" for f in fields),
                "schema": {"type": "string"},
            }
        ]


# What every list reads besides its filters: the renderer and related objects to expand.
_LIST_PARAMS = frozenset({"format", "expand", "expand[]"})
_PAGINATION_PARAMS = ("page_query_param", "page_size_query_param", "limit_query_param",
                      "offset_query_param", "cursor_query_param")  # fmt: skip


def list_params_check(view: Any, request: Request) -> None:
    """A list answers 400 on a query parameter nothing reads, naming it: a filter the
    resource does not have, ignored, would list every row as if each matched.

    A parameter is read by the pagination, by a filter backend of the view (its
    `takes_param`) or by the view itself (`list_query_params`)."""
    names = [name for name in request.query_params if name not in _LIST_PARAMS]
    if not names:
        return
    paginator = getattr(view, "paginator", None)
    known = {getattr(paginator, attr, None) for attr in _PAGINATION_PARAMS}
    known.update(getattr(view, "list_query_params", ()))
    backends = [backend() for backend in getattr(view, "filter_backends", ())]
    unknown = [
        name
        for name in names
        if name not in known
        and not any(getattr(b, "takes_param", _takes_nothing)(view, name) for b in backends)
    ]
    if unknown:
        raise exceptions.ValidationError(
            {name: ["Unknown filter."] for name in unknown}, code="unknown_filter"
        )


def _takes_nothing(view: Any, name: str) -> bool:
    return False
