"""`/bulks/invoices/` and `/bulks/retentions/`: submit up to 500 bodies in one request
(202), then poll the bulk for each item's result."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantViewSet
from bulks import services
from bulks.choices import BulkKind
from bulks.models import Bulk, BulkItem
from bulks.representations import BulkSerializer


class BulkViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, TenantViewSet
):
    """Bulks of one kind; subclasses name it. A bulk is not changed or deleted: its
    documents are, through their own resources."""

    kind: str
    queryset = Bulk.objects.prefetch_related(
        Prefetch("items", queryset=BulkItem.objects.order_by("position"))
    )
    serializer_class = BulkSerializer
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().filter(kind=self.kind)

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
        )
        bulk = self.get_queryset().get(pk=bulk.pk)
        return Response(self.get_serializer(bulk).data, status=status.HTTP_202_ACCEPTED)


class InvoiceBulkViewSet(BulkViewSet):
    kind = BulkKind.INVOICES


class RetentionBulkViewSet(BulkViewSet):
    kind = BulkKind.RETENTIONS
