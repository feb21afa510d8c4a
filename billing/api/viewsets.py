"""The base of every tenant resource's API.

`ApiInputMixin` (on every API view) parses bodies with the kernel's JSON parser and keeps
path ids and query parameters that no stored value can contain away from the database.

`TenantViewSet` does three things once for all resources:
- scopes the queryset to the caller's (workspace, mode), so retrieve, update, delete,
  actions and lists can only ever see the tenant's own rows;
- runs every unsafe request in one transaction;
- honours `Idempotency-Key` on every POST (billing.services.idempotency).

`TenantModelViewSet` adds CRUD, with PUT as partial as PATCH (api.md §1 Paths).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from rest_framework import exceptions, mixins, permissions, viewsets
from rest_framework.parsers import BaseParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from billing.api.detail_lane import lane_dispatch, lane_parts
from billing.api.filters import list_params_check
from billing.api.parsers import JSONParser, has_unstorable_characters
from billing.api.throttling import budget_uncount
from billing.clock import clock_now
from billing.compiled_reads import FoundObject, compiled_object_read
from billing.db import request_transaction
from billing.models import Workspace
from billing.representation_plans import planned_representation
from billing.representations import expand_requested, expandable_fields, scope_to_tenant
from billing.row_plans import row_representation
from billing.services.idempotency import (
    Replay,
    StoredResponse,
    idempotency_key_check,
    idempotency_key_lock,
    idempotency_key_prepare,
    idempotency_key_store,
    idempotency_key_will_run,
    request_fingerprint,
)
from billing.tenancy import IsWorkspaceMember

IDEMPOTENCY_HEADER = "Idempotency-Key"
# The status every finalizable document starts in, and the only one finalize leaves.
DRAFT = "draft"


class ApiInputMixin:
    """Input checks every API view makes before its handler runs (after authentication).

    A NUL or an unpaired surrogate in a path id or a query parameter would reach a query
    that PostgreSQL refuses (a 500); no stored value contains one, so the id is a 404
    and the parameter a 400. Bodies get the same treatment from the JSON parser.
    """

    parser_classes: Sequence[type[BaseParser]] = (JSONParser,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.check_path_ids(kwargs)
        errors = {
            key.replace("\x00", "\ufffd"): ["Null characters are not allowed."]
            for key, values in request.query_params.lists()
            if any(has_unstorable_characters(text) for text in (key, *values))
        }
        if errors:
            raise exceptions.ValidationError(errors)
        if getattr(self, "action", None) == "list":
            list_params_check(self, request)

    def check_path_ids(self, kwargs: dict[str, Any]) -> None:
        if any(isinstance(v, str) and has_unstorable_characters(v) for v in kwargs.values()):
            raise exceptions.NotFound()


@dataclass(frozen=True)
class _KeyedRequest:
    workspace: Workspace
    test_mode: bool
    key: str
    fingerprint: str

    @property
    def scope(self) -> dict[str, Any]:
        return {"workspace": self.workspace, "test_mode": self.test_mode, "key": self.key}


def _keyed_request(
    request: Request, scope: tuple[Workspace, bool, str] | None
) -> _KeyedRequest | None:
    """The POST's Idempotency-Key within `scope` (workspace, mode, a prefix that keeps
    one kind of caller's keys apart from another's), or None when it carries none."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if request.method != "POST" or key is None or scope is None:
        return None
    workspace, test_mode, prefix = scope
    # The documented limit is the caller's: checked before the prefix is added.
    idempotency_key_check(key)
    return _KeyedRequest(
        workspace=workspace,
        test_mode=test_mode,
        key=prefix + key,
        fingerprint=request_fingerprint(
            method="POST",
            path=request.path,
            query=list(request.query_params.lists()),
            body=request.data,
        ),
    )


class TransactionalAPIView(ApiInputMixin, APIView):
    """APIView whose unsafe requests run atomically and whose POSTs are idempotent."""

    # Authentication may count a read's request budget in its round trip to the cache
    # (billing.auth): a request refused before the budget judged it is taken back here.
    counts_budget_on_authentication = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # DRF's dispatch, with the handler run by `_run_handler`.
        self.args = args
        self.kwargs = kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        response: HttpResponseBase
        try:
            self.initial(drf_request, *args, **kwargs)
            response = self._run_handler(drf_request, *args, **kwargs)
        except Replay as replay:
            budget_uncount(drf_request)
            response = _replayed(replay.response)
        except Exception as exc:
            budget_uncount(drf_request)
            response = self.handle_exception(exc)
        # DRF's finalize_response takes any HttpResponse; only its stubs say Response.
        self.response = self.finalize_response(
            drf_request,
            response,  # type: ignore[arg-type]
            *args,
            **kwargs,
        )
        return self.response

    def takes_idempotency_key(self) -> bool:
        """Whether this view's POSTs honour an Idempotency-Key (the OpenAPI document
        declares it, and its 409 and 422, where they do): a tenant's views do."""
        return any(isinstance(p, IsWorkspaceMember) for p in self.get_permissions())

    def idempotency_scope(self, request: Request) -> tuple[Workspace, bool, str] | None:
        """Where this request's Idempotency-Key lives: the caller's workspace and mode.

        Views without a workspace (the JWT endpoints) take no key: a replayed token pair
        would hand credentials to whoever holds the key."""
        workspace = getattr(request, "workspace", None)
        if workspace is None:
            return None
        return workspace, request.test_mode, ""  # type: ignore[attr-defined]

    # The viewset actions that do work in `before_transaction`.
    actions_before_transaction: tuple[str, ...] = ()

    def before_transaction(self, request: Request) -> None:
        """What an unsafe request of `actions_before_transaction` does before its
        transaction opens: a call to another service (Stripe) that would otherwise hold
        the transaction's locks while it waits. Errors raised here are the answer; they
        are not kept under an Idempotency-Key, and a request whose key would replay an
        answer or be refused skips this."""

    # The viewset actions whose handler writes in transactions of its own (a service's),
    # each ending before the answer is built, when no Idempotency-Key asks for the answer
    # to be kept with the writes: locks they take are held only while they write.
    actions_in_own_transactions: tuple[str, ...] = ()

    def _retrieves_by_plan(self, request: Request) -> bool:
        return False

    def _retrieve_by_plan(self) -> Response:
        raise NotImplementedError

    def _run_handler(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        method = (request.method or "").lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        handler = handler or self.http_method_not_allowed
        if request.method in SAFE_METHODS:
            if self._retrieves_by_plan(request):
                return self._retrieve_by_plan()
            return handler(request, *args, **kwargs)

        keyed = _keyed_request(request, self.idempotency_scope(request))
        now = timezone.now()
        if keyed is not None:
            idempotency_key_prepare(**keyed.scope, fingerprint=keyed.fingerprint, now=now)
        if getattr(self, "action", None) in self.actions_before_transaction and (
            keyed is None
            or idempotency_key_will_run(**keyed.scope, fingerprint=keyed.fingerprint, now=now)
        ):
            try:
                self.before_transaction(request)
            except Exception as exc:
                return self.handle_exception(exc)
        if keyed is None and getattr(self, "action", None) in self.actions_in_own_transactions:
            try:
                return handler(request, *args, **kwargs)
            except Exception as exc:
                return self.handle_exception(exc)
        if keyed is None:
            # No answer to keep: an error rolls the whole transaction back.
            try:
                with transaction.atomic(), request_transaction():
                    return handler(request, *args, **kwargs)
            except Exception as exc:
                return self.handle_exception(exc)
        with transaction.atomic():
            record = idempotency_key_lock(**keyed.scope, fingerprint=keyed.fingerprint, now=now)
            try:
                with transaction.atomic(), request_transaction():
                    response = handler(request, *args, **kwargs)
            except Exception as exc:
                # The handler's writes are rolled back to the savepoint; a handled error
                # (4xx) is still the answer this key gives from now on.
                response = self.handle_exception(exc)
            if response.status_code < 500:
                idempotency_key_store(record=record, response=self._rendered(request, response))
        return response

    def _rendered(self, request: Request, response: HttpResponseBase) -> StoredResponse:
        """`response` rendered now, as `finalize_response` would render it, so that what is
        kept is the bytes and headers this answer goes out with."""
        if isinstance(response, Response):
            response.accepted_renderer = request.accepted_renderer
            response.accepted_media_type = request.accepted_media_type
            response.renderer_context = self.get_renderer_context()  # type: ignore[attr-defined]
            response.render()
        return StoredResponse(
            status=response.status_code,
            content=response.content,  # type: ignore[attr-defined]
            headers=dict(response.headers),
        )


def _replayed(stored: StoredResponse) -> HttpResponse:
    response = HttpResponse(
        stored.content,
        status=stored.status,
        headers={**stored.headers, "Idempotent-Replayed": "true"},
    )
    if "Content-Type" not in stored.headers:  # an empty answer (204) has none
        del response["Content-Type"]
    return response


# The actions whose answer is the representation of what they read, and nothing else.
SHOWING_ACTIONS = ("list", "retrieve")


def without_related(queryset: QuerySet, names: Sequence[str]) -> QuerySet:
    """`queryset` without the select_related relations named (and those under them)."""
    related = queryset.query.select_related
    if not isinstance(related, dict):  # select_related() with no names: every relation
        return queryset
    kept = [path for path in _related_paths(related) if path.split("__")[0] not in names]
    queryset = queryset.select_related(None)
    # select_related() with no names would join every relation.
    return queryset.select_related(*kept) if kept else queryset


def _related_paths(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """The deepest paths of a select_related tree ({"a": {"b": {}}} is ["a__b"])."""
    paths = []
    for name, below in tree.items():
        path = prefix + name
        paths += _related_paths(below, path + "__") if below else [path]
    return paths


class TenantRequest(Request):
    """A request IsWorkspaceMember let through: it names its workspace and mode."""

    workspace: Workspace
    test_mode: bool


class TenantViewSet(TransactionalAPIView, viewsets.GenericViewSet):
    """Subclasses set `queryset`, `serializer_class` and their filters; writes go through
    `ServiceWriteMixin`'s hooks and `perform_destroy`, one service call each."""

    request: TenantRequest

    ordering_fields: tuple[str, ...] = ("created", "updated")
    ordering: tuple[str, ...] = ("-created_at", "-id")
    # Model fields that order rows tying on `?ordering=` before the id (OrderingFilter).
    ordering_ties: tuple[str, ...] = ()
    # Relations the queryset joins for what the actions' services read (an invoice's
    # document type) that no representation shows: a list or a detail GET, which only
    # shows the object, leaves them out of its query.
    unshown_related: tuple[str, ...] = ()
    # A DELETE whose view reads a body too (a subscription's cancel options), so it can
    # answer what a body's parser answers (415); the OpenAPI document says so
    # (billing.api.schema), though it describes a DELETE's input as query parameters.
    reads_delete_body = False
    # The actions that read no body (`POST /invoices/{id}/finalize/`): a body that says
    # anything is a 400, as an unknown field of any other body is, rather than ignored.
    # An empty one, or `{}` as Piriod's client sends, is the call.
    actions_without_body: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # A plain detail GET shown by its plan takes the lean lane (billing.api.detail_lane).
        parts = lane_parts(self, request, kwargs, _LANE_STEPS)
        if parts is not None:
            response = lane_dispatch(self, request, parts, args, kwargs)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if getattr(self, "action", None) in self.actions_without_body:
            _refuse_body(request)
        unknown = sorted(expand_requested(request) - set(self.expandable()))
        if unknown:
            allowed = ", ".join(self.expandable()) or "nothing"
            raise exceptions.ValidationError(
                {"expand": [f"{', '.join(unknown)} cannot be expanded here; {allowed} can."]}
            )

    def expandable(self) -> list[str]:
        """What `?expand=` may name on this resource (billing.representations)."""
        if getattr(self, "serializer_class", None) is None:
            return []
        return expandable_fields(self.get_serializer_class())

    def get_queryset(self) -> QuerySet:
        queryset = scope_to_tenant(super().get_queryset(), self.request)
        if self._only_shows():
            queryset = without_related(queryset, self.unshown_related)
        # Expanded objects are read in the same query as the rows that name them.
        expanded = expand_requested(self.request) & set(self.expandable())
        return queryset.select_related(*sorted(expanded)) if expanded else queryset

    def get_object(self) -> Any:
        """The object a detail route names. A read on a view whose queryset is its
        class's, scoped to the tenant (get_queryset not overridden), runs SQL compiled
        by the first such read of this thread (billing.compiled_reads) instead of
        compiling the queryset again."""
        found = self._found_object()
        if found is None:
            return super().get_object()
        obj = found.instance()
        self.check_object_permissions(self.request, obj)
        return obj

    def _found_object(self) -> FoundObject | None:
        """The rows of the object a detail route names, read by its compiled read; None
        when the view's reads are not compiled. No object is a 404."""
        if self.request.method not in SAFE_METHODS or self.lookup_field != "pk":
            return None
        if type(self).get_queryset is not TenantViewSet.get_queryset:
            return None
        pk = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        workspace, test_mode = self.request.workspace, self.request.test_mode
        expanded = tuple(sorted(expand_requested(self.request) & set(self.expandable())))
        # Kept under the relations joined beyond the representation's own: an action that
        # does more than show the object (a PDF) also reads the unshown ones.
        joined = expanded if self._only_shows() else expanded + self.unshown_related
        read = compiled_object_read(
            (type(self), joined, workspace.pk, test_mode),
            lambda: (self.get_queryset(), {"workspace": workspace.pk}),
            pk,
        )
        if read is None:
            return None
        found = read.find({"workspace": workspace.pk, "pk": pk})
        if found is None:
            raise Http404
        return found

    def _only_shows(self) -> bool:
        """Whether the action only shows what it reads (a list or a detail GET), so the
        relations no representation shows are left out of its query."""
        return bool(self.unshown_related) and getattr(self, "action", None) in SHOWING_ACTIONS

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Filters, search and ordering narrow lists. A detail route names its object by
        # id; building the filter form for it cost more than reading the object.
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def _retrieves_by_plan(self, request: Request) -> bool:
        """A plain detail GET of DRF's `retrieve` (no query string to read), shown through
        its serializer's kept plan (billing.representation_plans)."""
        return (
            getattr(self, "action", None) == "retrieve"
            and getattr(type(self), "retrieve", None) is mixins.RetrieveModelMixin.retrieve
            and not request._request.META.get("QUERY_STRING")
        )

    def _retrieve_by_plan(self) -> Response:
        return Response(self._planned_data(self._checks_objects()))

    def _planned_data(self, checks_objects: bool) -> dict[str, Any]:
        """What `_retrieve_by_plan` answers; `checks_objects` is `_checks_objects()`."""
        serializer_class = self.get_serializer_class()
        context = self.get_serializer_context()
        found = self._found_object()
        if found is not None and not checks_objects:
            # Shown from the rows when the serializer can be (billing.row_plans).
            data = row_representation(serializer_class, found, context)
            if data is not None:
                return data
        if found is None:
            obj = self.get_object()
        else:
            obj = found.instance()
            self.check_object_permissions(self.request, obj)
        return planned_representation(serializer_class, obj, context)

    def _checks_objects(self) -> bool:
        """Whether a permission of the view looks at the object it answers with."""
        return any(
            type(permission).has_object_permission
            is not permissions.BasePermission.has_object_permission
            for permission in self.get_permissions()
        )

    def tenant_now(self) -> datetime:
        """What time it is for this workspace and mode (the test clock in test mode once
        one is set): the `now` every service call of a view receives."""
        return clock_now(workspace=self.request.workspace, test_mode=self.request.test_mode)

    def _finalize_respond(self, finalize: Callable[[Any], Model]) -> Response:
        """A finalize action's answer, `finalize` being its service call on the object.

        Where Piriod documents finalize as a GET, any client or proxy may retry that GET:
        a GET on a document no longer a draft answers it as it is (200), as a POST retried
        under its Idempotency-Key replays its first answer. A POST without a key is a new
        request to finalize, and a document already past draft is its state conflict."""
        obj = self.get_object()
        if self.request.method in SAFE_METHODS and obj.status != DRAFT:
            return self._respond(obj)
        return self._respond(finalize(obj))

    def _respond(self, instance: Model) -> Response:
        """An action's answer: the object read again through the view's queryset, so it
        carries what its representation reads (annotations, prefetches)."""
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(fresh).data)


def _refuse_body(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    body = request.data
    if body is None or body == {}:
        return
    if isinstance(body, dict):
        raise exceptions.ValidationError({str(key): ["Unknown field."] for key in body})
    raise exceptions.ValidationError(
        {"non_field_errors": ["This action takes no body; send none or {}."]}
    )


# The steps of a detail GET that the lane takes as TenantViewSet defines them.
_LANE_STEPS = {
    "initial": TenantViewSet.initial,
    "check_path_ids": ApiInputMixin.check_path_ids,
    "_run_handler": TransactionalAPIView._run_handler,
    "_retrieve_by_plan": TenantViewSet._retrieve_by_plan,
}


class ServiceWriteMixin:
    """Create and update as one service call each: a subclass implements
    `create_object(data)` and `update_object(instance, data)`, `data` being the
    serializer's validated input (a copy the hook may change), and returns the object the
    service wrote. Listed before DRF's create and update mixins, whose `serializer.save()`
    it replaces."""

    def create_object(self, data: dict[str, Any]) -> Model:
        raise NotImplementedError(f"{type(self).__name__} does not create objects.")

    def update_object(self, instance: Any, data: dict[str, Any]) -> Model:
        raise NotImplementedError(f"{type(self).__name__} does not update objects.")

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = self.create_object(dict(serializer.validated_data))

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = self.update_object(
            serializer.instance, dict(serializer.validated_data)
        )


class PartialUpdateModelMixin(mixins.UpdateModelMixin):
    """PUT is a partial update, as PATCH is: Piriod's SDK updates only with PUT and sends
    only the fields that changed. Read-only fields in the body (a retrieved object PUT
    back) are ignored; unknown ones are still refused (StrictFieldsMixin)."""

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)


class TenantModelViewSet(
    ServiceWriteMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    PartialUpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    TenantViewSet,
):
    pass
