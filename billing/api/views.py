"""Kernel endpoints: workspaces, reference data, JWT, health."""

from typing import Any, cast

import django_filters
from celery import current_app
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken

from billing.api.errors import ErrorSerializer
from billing.api.filters import (
    ApiFilterSet,
    BooleanInFilter,
    CharInFilter,
    ComunaCodeFilter,
    ComunaCodeInFilter,
    TenantFilterSet,
)
from billing.api.kernel_serializers import (
    ComunaSerializer,
    CountrySerializer,
    CurrencySerializer,
    DocumentTypeSerializer,
    JwtObtainSerializer,
    JwtRefreshSerializer,
    StateSerializer,
    WorkspaceIssuerSerializer,
    WorkspaceSerializer,
)
from billing.api.parsers import JSONParser
from billing.api.viewsets import ApiInputMixin, TenantViewSet
from billing.auth import record_authentication_failure, refuse_after_too_many_failures
from billing.models import (
    Certificate,
    Comuna,
    Country,
    Currency,
    DocumentType,
    FolioRange,
    Membership,
    State,
    Workspace,
)
from billing.representations import CertificateSerializer, FolioRangeSerializer
from billing.services.certificates import certificate_load
from billing.services.folios import folio_range_load
from billing.services.jwt_sessions import SessionEnded, jwt_session_refresh, jwt_session_start
from billing.services.workspaces import workspace_update_issuer


class WorkspaceViewSet(
    ApiInputMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's workspaces. Needs no workspace header: it is how a caller finds one.
    Owners set the issuer data documents print (PATCH, or PUT: partial too, as on every
    resource)."""

    serializer_class = WorkspaceSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list[Any] = []
    http_method_names = ["get", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Workspace]:
        if getattr(self, "swagger_fake_view", False):
            return Workspace.objects.none()
        user = cast(User, self.request.user)  # IsAuthenticated let it through
        return Workspace.objects.filter(memberships__user=user).order_by("name", "id")

    @extend_schema(
        request=WorkspaceIssuerSerializer,
        responses={
            200: WorkspaceSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Only owners change a workspace."),
        },
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        workspace = self.get_object()
        is_owner = workspace.memberships.filter(
            user=request.user, role=Membership.Role.OWNER
        ).exists()
        if not is_owner:
            raise exceptions.PermissionDenied("Only the workspace's owners change it.")
        serializer = WorkspaceIssuerSerializer(
            data=_without_unchanged_read_only(workspace, request.data), partial=True
        )
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            workspace = workspace_update_issuer(workspace=workspace, **serializer.validated_data)
        return Response(WorkspaceSerializer(workspace).data)

    @extend_schema(
        # Partial as PATCH: the same Patched… body, every field optional.
        request=WorkspaceIssuerSerializer(partial=True),
        responses={
            200: WorkspaceSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Only owners change a workspace."),
        },
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self.partial_update(request, pk)


def _without_unchanged_read_only(workspace: Workspace, data: Any) -> Any:
    """The body less the read-only fields it sends as they are (a retrieved workspace sent
    back); one it sends changed is a 400 on that field, not silently ignored."""
    if not isinstance(data, dict):
        return data
    current = WorkspaceSerializer(workspace).data
    read_only = set(current) - set(WorkspaceIssuerSerializer.Meta.fields)
    changed = {
        name: ["Read-only: set in the back office."]
        for name in read_only & set(data)
        if data[name] != current[name]
    }
    if changed:
        raise exceptions.ValidationError(changed)
    return {name: value for name, value in data.items() if name not in read_only}


class ReferenceViewSet(
    ApiInputMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Reference data is global: readable by any member, in any workspace."""


class CurrencyFilter(ApiFilterSet):
    code = django_filters.CharFilter(lookup_expr="iexact")
    code__in = CharInFilter(field_name="code", lookup_expr="in")

    class Meta:
        model = Currency
        fields = ["code"]


class CurrencyViewSet(ReferenceViewSet):
    queryset = Currency.objects.all()
    serializer_class = CurrencySerializer
    filterset_class = CurrencyFilter
    search_fields = ["code", "name"]
    ordering_fields = ("code", "name")


class CountryFilter(ApiFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    code__in = CharInFilter(field_name="code", lookup_expr="in")

    class Meta:
        model = Country
        fields = ["code", "name", "currency", "has_tax_regulation"]


class CountryViewSet(ReferenceViewSet):
    queryset = Country.objects.all()
    serializer_class = CountrySerializer
    filterset_class = CountryFilter
    search_fields = ["code", "name"]
    ordering_fields = ("code", "name")


class StateFilter(ApiFilterSet):
    code = django_filters.CharFilter(lookup_expr="iexact")
    name = django_filters.CharFilter(lookup_expr="icontains")
    country__in = CharInFilter(field_name="country", lookup_expr="in")

    class Meta:
        model = State
        fields = ["code", "name", "country"]


class StateViewSet(ReferenceViewSet):
    queryset = State.objects.all()
    serializer_class = StateSerializer
    filterset_class = StateFilter
    search_fields = ["code", "name"]
    ordering_fields = ("code", "name")


class ComunaFilter(ApiFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    code = ComunaCodeFilter()
    code__in = ComunaCodeInFilter(field_name="code", lookup_expr="in")
    region__in = CharInFilter(field_name="region", lookup_expr="in")

    class Meta:
        model = Comuna
        fields = ["code", "name", "region"]


class ComunaViewSet(ReferenceViewSet):
    """Chile's 346 comunas by their Código Único Territorial, with their region."""

    queryset = Comuna.objects.all()
    serializer_class = ComunaSerializer
    filterset_class = ComunaFilter
    search_fields = ["code", "name"]
    ordering_fields = ("code", "name")


class DocumentTypeFilter(ApiFilterSet):
    country__in = CharInFilter(field_name="country", lookup_expr="in")
    code__in = CharInFilter(field_name="code", lookup_expr="in")
    is_sale__in = BooleanInFilter(field_name="is_sale", lookup_expr="in")
    is_purchase__in = BooleanInFilter(field_name="is_purchase", lookup_expr="in")
    hold_taxes__in = BooleanInFilter(field_name="hold_taxes", lookup_expr="in")

    class Meta:
        model = DocumentType
        fields = [
            "country",
            "code",
            "is_sale",
            "is_purchase",
            "hold_taxes",
            "is_order",
            "is_credit_note",
            "is_debit_note",
        ]


class DocumentTypeViewSet(ReferenceViewSet):
    queryset = DocumentType.objects.all()
    serializer_class = DocumentTypeSerializer
    filterset_class = DocumentTypeFilter
    search_fields = ["code", "name"]
    ordering_fields = ("id", "code", "name")


class JwtObtainView(ApiInputMixin, APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    serializer_class = JwtObtainSerializer

    @extend_schema(request=JwtObtainSerializer, responses=JwtObtainSerializer)
    def post(self, request: Request) -> Response:
        refuse_after_too_many_failures(request)
        body = JwtObtainSerializer(data=request.data, context={"request": request})
        if not body.is_valid():
            # Only credentials that did not match count: a body that sends none, or
            # malformed ones, guesses nothing.
            refused = body.errors.get("non_field_errors", [])
            if any(getattr(error, "code", None) == "authorization" for error in refused):
                record_authentication_failure(request)
            raise ValidationError(body.errors)
        pair = jwt_session_start(**body.validated_data, now=timezone.now())
        return Response({"access": pair.access, "refresh": pair.refresh})


class JwtRefreshView(ApiInputMixin, APIView):
    """A new pair for a refresh token, which is used up: presented again, it ends its
    session (billing.services.jwt_sessions)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    serializer_class = JwtRefreshSerializer

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # makes a refused token a 401, not a 403

    @extend_schema(
        responses={
            200: JwtRefreshSerializer,
            401: OpenApiResponse(ErrorSerializer, description="Invalid or expired refresh token."),
        }
    )
    def post(self, request: Request) -> Response:
        refuse_after_too_many_failures(request)
        body = JwtRefreshSerializer(data=request.data)
        try:
            body.is_valid(raise_exception=True)
            pair = jwt_session_refresh(refresh=body.validated_data["token"], now=timezone.now())
        except SessionEnded as exc:
            record_authentication_failure(request)
            raise InvalidToken("Used or revoked refresh token.") from exc
        except InvalidToken:
            record_authentication_failure(request)
            raise
        return Response({"access": pair.access, "refresh": pair.refresh})


HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded"]),
        "database": serializers.CharField(),
        "broker": serializers.CharField(),
    },
)


class HealthView(APIView):
    """Reachability of the database and the Celery broker: 200 when both answer, else 503."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request: Request) -> Response:
        checks = {"database": _check_database(), "broker": _check_broker()}
        healthy = all(value == "ok" for value in checks.values())
        return Response(
            {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
        )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure is "unreachable"; the reason is reported
        return f"error: {exc.__class__.__name__}"


def _check_broker() -> str:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


NOT_FOUND_ROUTE = "not-found"

# Resources Piriod's client lists that this server does not serve, and why: a Piriod
# user calling them reads the reason in the 404's detail (the client keeps only that).
UNSERVED_RESOURCES = {
    "ops": "Piriod's `ops` resource is listed by its client but not described in Piriod's "
    "public documentation, so this server does not provide it.",
}


@csrf_exempt  # an API path, as DRF's views are: no CSRF 403 before the JSON 404
def not_found(request: HttpRequest) -> HttpResponse:
    """Every path no route matches (config.urls routes them all here, /admin/ aside): a
    JSON 404 whether DEBUG is on or off, where Django would show its HTML pages.

    A path that exists with a trailing slash redirects there on GET and HEAD, as Django's
    APPEND_SLASH did; other methods answer a 404 that says so, since a redirected POST
    arrives as a GET without its body.
    """
    with_slash = request.path if request.path.endswith("/") else f"{request.path}/"
    try:
        exists_with_slash = with_slash != request.path and (
            resolve(f"{request.path_info}/").url_name != NOT_FOUND_ROUTE
        )
    except Resolver404:
        exists_with_slash = False
    if exists_with_slash and request.method in ("GET", "HEAD"):
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(with_slash + (f"?{query}" if query else ""))
    resource = request.path_info.strip("/").split("/")[0]
    if resource in UNSERVED_RESOURCES:
        return JsonResponse(
            {"detail": UNSERVED_RESOURCES[resource], "code": "resource_not_available"}, status=404
        )
    detail = f"No route {request.path}."
    if exists_with_slash:
        detail += f" Paths end with a slash: {with_slash}"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 400 Django raises before any view runs (a Host header not in ALLOWED_HOSTS, a
    malformed request) in the error shape of the API (config.urls' handler400)."""
    if request.path.startswith("/admin/"):
        return defaults.bad_request(request, exception)
    return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500 in the error shape of the API (config.urls' handler500); the admin keeps
    Django's page."""
    if request.path.startswith("/admin/"):
        return defaults.server_error(request)
    return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)


# Bounded as a database integer is: SQLite cannot bind a larger one (a 500, not a 400).
_DATABASE_INTEGER = {"min_value": -(2**63), "max_value": 2**63 - 1}


class FolioRangeFilter(TenantFilterSet):
    # A range shows its document type as `document`; `document_type` is its first name.
    document = django_filters.NumberFilter(field_name="document_type_id", **_DATABASE_INTEGER)
    document_type = django_filters.NumberFilter(field_name="document_type_id", **_DATABASE_INTEGER)

    class Meta:
        model = FolioRange
        fields = ["document", "document_type"]


class FolioRangeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """CAF folio ranges: load the XML the SII issues; the key it carries is never shown."""

    queryset = FolioRange.objects.all()
    serializer_class = FolioRangeSerializer
    # The CAF is a file the SII issues: uploaded as it is, or sent as text in JSON.
    parser_classes = (JSONParser, MultiPartParser)
    filterset_class = FolioRangeFilter
    ordering_fields = ("created", "first")

    @extend_schema(responses={201: FolioRangeSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        folio_range = folio_range_load(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            caf=serializer.validated_data["caf"],
            now=self.tenant_now(),
        )
        return Response(FolioRangeSerializer(folio_range).data, status=201)


class FolioRangeAliasViewSet(FolioRangeViewSet):
    """`/folios/`, the ranges' first path, still served for the clients that use it; the
    document names only `/cafs/` (api.md)."""

    schema = None


class CertificateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """Digital certificates that sign DTEs: load the PKCS#12 file with its password; only
    the subject and validity are ever shown."""

    queryset = Certificate.objects.all()
    serializer_class = CertificateSerializer
    ordering_fields = ("created", "not_after_at")

    @extend_schema(responses={201: CertificateSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        certificate = certificate_load(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            pkcs12_data=serializer.validated_data["pkcs12"],
            password=serializer.validated_data["password"],
            now=self.tenant_now(),
        )
        return Response(CertificateSerializer(certificate).data, status=201)
