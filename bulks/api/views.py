"""`/bulks/invoices/` and `/bulks/retentions/`: submit up to 500 bodies in one request
(202), then poll the bulk for each item's result."""

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import PartialUpdateModelMixin, ServiceWriteMixin, TenantViewSet
from bulks import services
from bulks.choices import BulkKind
from bulks.filters import BulkFilter
from bulks.models import Bulk, BulkItem, InvoiceBulk, RetentionBulk
from bulks.representations import BulkSerializer

# A bulk's items in order, prefetched for its results.
ITEMS = Prefetch("items", queryset=BulkItem.objects.order_by("position"))


class BulkViewSet(
    ServiceWriteMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    PartialUpdateModelMixin,
    mixins.ListModelMixin,
    TenantViewSet,
):
    """Bulks of one kind; subclasses name it. PUT changes a bulk's metadata only; its
    items are not changed nor the bulk deleted: its documents are, through their own
    resources."""

    kind: str
    serializer_class = BulkSerializer
    filterset_class = BulkFilter
    ordering_fields = ("created", "updated", "completed_at")

    @extend_schema(responses={202: BulkSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant: Any = request
        bulk = services.bulk_submit(
            workspace=tenant.workspace,
            test_mode=tenant.test_mode,
            kind=self.kind,
            items=serializer.validated_data["items"],
            metadata=serializer.validated_data.get("metadata"),
        )
        bulk = self.get_queryset().get(pk=bulk.pk)
        return Response(self.get_serializer(bulk).data, status=status.HTTP_202_ACCEPTED)

    def update_object(self, instance: Bulk, data: dict[str, Any]) -> Bulk:
        return services.bulk_update(bulk=instance, **data)


class InvoiceBulkViewSet(BulkViewSet):
    kind = BulkKind.INVOICES
    queryset = InvoiceBulk.objects.filter(kind=BulkKind.INVOICES).prefetch_related(ITEMS)


class RetentionBulkViewSet(BulkViewSet):
    kind = BulkKind.RETENTIONS
    queryset = RetentionBulk.objects.filter(kind=BulkKind.RETENTIONS).prefetch_related(ITEMS)
