"""A plain detail GET (`GET /invoices/{id}/`, no query string, JSON accepted) answered by
the steps DRF's dispatch takes for it, without the parts of that dispatch that give the
same answer on every such request.

DRF builds, for every request, a parser, two authenticators, two content negotiators, a
renderer and two permission checkers, asks the negotiator what the Accept header means,
and wraps the answer in a Response that a renderer turns into bytes once Django asks.
For a view whose classes are the server's own and keep nothing between requests
(`_STATELESS`), the instances are built once per process and shared; the negotiation's
answer for the Accept headers taken here is DRF's (billing.api.negotiation answers them
without parsing either); the body is the bytes the server's renderer writes, set on a
plain HttpResponse. Authentication, the permission checks and the throttles run as DRF
runs them, on a DRF Request, in the same order; throttles are built per request, since
they keep the request's window (and tests change their rates). Any error is answered by
the view's own `handle_exception` and `finalize_response`, as in DRF's dispatch.

A request the lane does not take (another method, another Accept, a `?format=` or any
query string, a format suffix, a body, a view with other classes or overridden steps)
goes through DRF's dispatch unchanged.
"""

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.viewsets import GenericViewSet

from billing.api.negotiation import ContentNegotiation
from billing.api.parsers import JSONParser
from billing.api.renderers import JSONRenderer
from billing.api.throttling import budget_uncount
from billing.auth import ApiTokenAuthentication, JwtAuthentication
from billing.tenancy import IsWorkspaceMember

MEDIA_TYPE = JSONRenderer.media_type
# What ContentNegotiation answers with the JSON renderer without parsing the header.
_ACCEPTED = (None, "*/*", MEDIA_TYPE)

# Classes whose instances keep nothing of a request: one instance serves every request
# of every thread.
_STATELESS: frozenset[type] = frozenset(
    {
        ApiTokenAuthentication,
        JwtAuthentication,
        IsWorkspaceMember,
        permissions.IsAuthenticated,
        permissions.AllowAny,
        JSONParser,
        ContentNegotiation,
        JSONRenderer,
    }
)

# The steps of DRF's dispatch the lane takes as DRF defines them (GenericViewSet's): a
# view that overrides one of them goes through DRF's dispatch.
_DRF_STEPS = {
    name: getattr(GenericViewSet, name)
    for name in (
        "initialize_request",
        "get_parsers",
        "get_authenticators",
        "get_content_negotiator",
        "get_parser_context",
        "get_renderers",
        "get_permissions",
        "get_format_suffix",
        "perform_content_negotiation",
        "determine_version",
        "perform_authentication",
        "check_permissions",
        "default_response_headers",
        "allowed_methods",
    )
}


class _Parts:
    """What the lane builds once for a view class: shared instances of its classes."""

    def __init__(self, view: Any) -> None:
        self.parsers = tuple(parser() for parser in view.parser_classes)
        self.authenticators = tuple(auth() for auth in view.authentication_classes)
        self.negotiator = view.content_negotiation_class()
        self.renderer = view.renderer_classes[0]()
        self.permissions = tuple(permission() for permission in view.permission_classes)
        self.checks_objects = any(
            type(permission).has_object_permission
            is not permissions.BasePermission.has_object_permission
            for permission in self.permissions
        )
        self.allowed: dict[tuple[Any, ...], str] = {}


# By view class and the classes it names, so a class attribute changed (a test's
# monkeypatch) builds new parts; None for a view the lane does not take.
_PARTS: dict[tuple[Any, ...], _Parts | None] = {}


def _parts(view: Any, own_steps: Mapping[str, Any]) -> _Parts | None:
    key = (
        type(view),
        tuple(view.parser_classes),
        tuple(view.authentication_classes),
        tuple(view.permission_classes),
        tuple(view.renderer_classes),
        view.content_negotiation_class,
        view.versioning_class,
    )
    try:
        return _PARTS[key]
    except KeyError:
        pass
    parsers, authenticators, permission_classes = key[1:4]
    takes = (
        list(view.renderer_classes) == [JSONRenderer]
        and view.content_negotiation_class is ContentNegotiation
        and view.versioning_class is None
        and all(cls in _STATELESS for cls in (*parsers, *authenticators, *permission_classes))
        and all(
            getattr(type(view), name) is step
            for name, step in (*_DRF_STEPS.items(), *own_steps.items())
        )
    )
    parts = _PARTS[key] = _Parts(view) if takes else None
    return parts


def _body_less_json_get(request: HttpRequest, kwargs: dict[str, Any]) -> bool:
    meta = request.META
    return (
        request.method == "GET"
        and not meta.get("QUERY_STRING")
        and meta.get("HTTP_ACCEPT") in _ACCEPTED
        and meta.get("CONTENT_LENGTH") in (None, "", "0")
        and "HTTP_TRANSFER_ENCODING" not in meta
        and "format" not in kwargs
    )


def lane_parts(
    view: Any, request: HttpRequest, kwargs: dict[str, Any], own_steps: Mapping[str, Any]
) -> _Parts | None:
    """The parts to answer `request` in the lane with, or None when it goes through DRF's
    dispatch. `own_steps` are the view's steps (by name) that the lane takes as the base
    view class defines them; a view class that overrides one is not taken."""
    if not _body_less_json_get(request, kwargs):
        return None
    if view.action_map.get("get") != "retrieve":
        return None
    return _parts(view, own_steps)


def lane_dispatch(
    view: Any, request: HttpRequest, parts: _Parts, args: Any, kwargs: dict[str, Any]
) -> HttpResponseBase | None:
    """DRF's dispatch of a plain detail GET, or None when the view would not show it by
    its plan (then nothing was done: DRF's dispatch answers it)."""
    view.args = args
    view.kwargs = kwargs
    view.action = "retrieve"  # what ViewSetMixin.initialize_request sets for a GET
    drf_request = Request(
        request,
        parsers=parts.parsers,
        authenticators=parts.authenticators,
        negotiator=parts.negotiator,
        parser_context={"view": view, "args": args, "kwargs": kwargs},
    )
    if not view._retrieves_by_plan(drf_request):
        return None
    view.request = drf_request
    view.headers = {"Allow": _allowed(view, parts)}
    try:
        # APIView.initial, in its order.
        view.format_kwarg = None
        drf_request.accepted_renderer = parts.renderer
        drf_request.accepted_media_type = MEDIA_TYPE
        drf_request.version, drf_request.versioning_scheme = None, None
        drf_request.user  # noqa: B018  # authenticates, as perform_authentication does
        for permission in parts.permissions:
            if not permission.has_permission(drf_request, view):
                view.permission_denied(
                    drf_request,
                    message=getattr(permission, "message", None),
                    code=getattr(permission, "code", None),
                )
        view.check_throttles(drf_request)
        # The view's own checks of its path ids (ApiInputMixin.initial); there is no query
        # string to check, nor an `?expand=` (TenantViewSet.initial).
        view.check_path_ids(kwargs)
        data = view._planned_data(parts.checks_objects)
    except Exception as exc:
        budget_uncount(drf_request)
        response = view.handle_exception(exc)
    else:
        # The renderer's bytes, with the Content-Type DRF's Response sets for them; out
        # of the handler's reach, as DRF renders once the view has answered.
        response = HttpResponse(parts.renderer.render(data, MEDIA_TYPE), content_type=MEDIA_TYPE)
    view.response = view.finalize_response(drf_request, response, *args, **kwargs)
    return view.response


def _allowed(view: Any, parts: _Parts) -> str:
    """The Allow header DRF's `default_response_headers` gives: the route's methods, the
    same for every request of it."""
    key = (tuple(view.action_map.items()), tuple(view.http_method_names))
    try:
        return parts.allowed[key]
    except KeyError:
        allowed = parts.allowed[key] = ", ".join(view.allowed_methods)
        return allowed
