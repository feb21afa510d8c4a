from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.errors import ErrorSerializer, ValidationErrorSerializer
from billing.api.viewsets import TenantModelViewSet
from billing.clock import workspace_today
from catalog import selectors, services
from catalog.api.serializers import (
    AddOnSerializer,
    CouponSerializer,
    CouponValidateQuerySerializer,
    PlanSerializer,
    ProductSerializer,
    TaxSerializer,
)
from catalog.filters import AddOnFilter, CouponFilter, PlanFilter, ProductFilter, TaxFilter
from catalog.models import AddOn, Coupon, Plan, Product, Tax


class CatalogViewSet(TenantModelViewSet):
    @property
    def tenant(self) -> dict[str, Any]:
        """The caller's workspace and mode (set by IsWorkspaceMember), as services take them."""
        request: Any = self.request
        return {"workspace": request.workspace, "test_mode": request.test_mode}


class ArchivableViewSet(CatalogViewSet):
    """`archive` and `unarchive` actions, each one service call named by the subclass."""

    def perform_archive(self, instance: Any) -> Any:
        raise NotImplementedError

    def perform_unarchive(self, instance: Any) -> Any:
        raise NotImplementedError

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.perform_archive(self.get_object())).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.perform_unarchive(self.get_object())).data)


class ProductViewSet(ArchivableViewSet):
    queryset = selectors.product_queryset()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["name", "sku", "code"]
    ordering_fields = ("created", "updated", "name", "sku", "code")

    def create_object(self, data: dict[str, Any]) -> Product:
        return services.product_create(**self.tenant, **data)

    def update_object(self, instance: Product, data: dict[str, Any]) -> Product:
        return services.product_update(product=instance, **data)

    def perform_destroy(self, instance: Product) -> None:
        services.product_delete(product=instance)

    def perform_archive(self, instance: Product) -> Product:
        return services.product_archive(product=instance, now=self.tenant_now())

    def perform_unarchive(self, instance: Product) -> Product:
        return services.product_unarchive(product=instance)


class PlanViewSet(ArchivableViewSet):
    queryset = selectors.plan_queryset()
    serializer_class = PlanSerializer
    filterset_class = PlanFilter
    search_fields = ["name", "sku"]
    ordering_fields = ("created", "updated", "name", "sku", "amount")

    def create_object(self, data: dict[str, Any]) -> Plan:
        return services.plan_create(**self.tenant, **data)

    def update_object(self, instance: Plan, data: dict[str, Any]) -> Plan:
        return services.plan_update(plan=instance, **data)

    def perform_destroy(self, instance: Plan) -> None:
        services.plan_delete(plan=instance)

    def perform_archive(self, instance: Plan) -> Plan:
        return services.plan_archive(plan=instance)

    def perform_unarchive(self, instance: Plan) -> Plan:
        return services.plan_unarchive(plan=instance)


class AddOnViewSet(ArchivableViewSet):
    queryset = selectors.addon_queryset()
    serializer_class = AddOnSerializer
    filterset_class = AddOnFilter
    search_fields = ["name", "sku"]
    ordering_fields = ("created", "updated", "name", "sku", "amount")

    def create_object(self, data: dict[str, Any]) -> AddOn:
        return services.addon_create(**self.tenant, **data)

    def update_object(self, instance: AddOn, data: dict[str, Any]) -> AddOn:
        return services.addon_update(addon=instance, **data)

    def perform_destroy(self, instance: AddOn) -> None:
        services.addon_delete(addon=instance)

    def perform_archive(self, instance: AddOn) -> AddOn:
        return services.addon_archive(addon=instance)

    def perform_unarchive(self, instance: AddOn) -> AddOn:
        return services.addon_unarchive(addon=instance)


class CouponViewSet(ArchivableViewSet):
    queryset = selectors.coupon_queryset()
    serializer_class = CouponSerializer
    filterset_class = CouponFilter
    search_fields = ["name", "code"]
    ordering_fields = ("created", "updated", "name", "code")

    def create_object(self, data: dict[str, Any]) -> Coupon:
        return services.coupon_create(**self.tenant, **data)

    def update_object(self, instance: Coupon, data: dict[str, Any]) -> Coupon:
        return services.coupon_update(coupon=instance, **data)

    def perform_destroy(self, instance: Coupon) -> None:
        services.coupon_delete(coupon=instance)

    def perform_archive(self, instance: Coupon) -> Coupon:
        return services.coupon_archive(coupon=instance)

    def perform_unarchive(self, instance: Coupon) -> Coupon:
        return services.coupon_unarchive(coupon=instance)

    @extend_schema(
        parameters=[
            OpenApiParameter("code", str, required=True, description="The code, in any case.")
        ],
        responses={
            200: CouponSerializer,
            400: ValidationErrorSerializer,
            404: OpenApiResponse(
                ErrorSerializer, description="`coupon_invalid`: no active coupon has this code."
            ),
            409: OpenApiResponse(
                ErrorSerializer, description="`coupon_expired`: its `valid_until` day has passed."
            ),
        },
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def validate(self, request: Request) -> Response:
        """The coupon with this code, if a customer may redeem it today."""
        query = CouponValidateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tenant = self.tenant
        today = workspace_today(tenant["workspace"], self.tenant_now())
        coupon = selectors.coupon_redeemable(
            **tenant, code=query.validated_data["code"], today=today
        )
        return Response(self.get_serializer(coupon).data)


class TaxViewSet(CatalogViewSet):
    queryset = selectors.tax_queryset()
    serializer_class = TaxSerializer
    filterset_class = TaxFilter
    search_fields = ["name"]
    ordering_fields = ("created", "updated", "name", "percent")

    def create_object(self, data: dict[str, Any]) -> Tax:
        return services.tax_create(**self.tenant, **data)

    def update_object(self, instance: Tax, data: dict[str, Any]) -> Tax:
        return services.tax_update(tax=instance, **data)

    def perform_destroy(self, instance: Tax) -> None:
        services.tax_delete(tax=instance)
