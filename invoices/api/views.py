from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet
from invoices import services
from invoices.api.serializers import InvoiceSerializer
from invoices.filters import InvoiceFilter
from invoices.models import Invoice
from invoices.selectors import invoice_queryset


class InvoiceViewSet(TenantModelViewSet):
    queryset = invoice_queryset()
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    search_fields = ["note", "customer__name", "customer__tax_id"]
    ordering_fields = ("created", "updated", "date", "number", "total", "due_date")

    def perform_create(self, serializer: InvoiceSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.invoice_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **serializer.validated_data,
        )

    def perform_update(self, serializer: InvoiceSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.invoice_update(
            invoice=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Invoice) -> None:
        services.invoice_delete(invoice=instance)

    def _respond(self, invoice: Invoice) -> Response:
        fresh = self.get_queryset().get(pk=invoice.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def finalize(self, request: Request, pk: str) -> Response:
        return self._respond(services.invoice_finalize(invoice=self.get_object(), now=timezone.now()))

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def uncollectible(self, request: Request, pk: str) -> Response:
        return self._respond(
            services.invoice_toggle_uncollectible(invoice=self.get_object(), now=timezone.now())
        )
