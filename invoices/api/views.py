from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.errors import ErrorSerializer
from billing.api.viewsets import TenantModelViewSet
from billing.representations import scope_to_tenant
from invoices.api.files import PdfRouteMixin, XmlRouteMixin
from invoices.api.filing import RetrySubmissionMixin
from invoices.filters import InvoiceFilter
from invoices.mail import invoice_send
from invoices.models import Invoice
from invoices.representations import InvoiceSerializer
from invoices.selectors import invoice_queryset
from invoices.services import invoices, notes


class InvoiceViewSet(PdfRouteMixin, XmlRouteMixin, RetrySubmissionMixin, TenantModelViewSet):
    queryset = invoice_queryset()
    # Updates, cancels, PDFs and DTEs read the document type; the representation shows
    # only its id, the invoice's own column.
    unshown_related = ("document",)
    actions_without_body = ("finalize", "uncollectible", "cancel", "send", "retry_submission")
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    search_fields = ["note", "customer__name", "customer__tax_id"]
    ordering_fields = ("created", "updated", "date", "number", "total", "due_date")

    def create_object(self, data: dict[str, Any]) -> Invoice:
        return invoices.invoice_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **data,
        )

    def update_object(self, instance: Invoice, data: dict[str, Any]) -> Invoice:
        return invoices.invoice_update(invoice=instance, **data)

    def perform_destroy(self, instance: Invoice) -> None:
        invoices.invoice_delete(invoice=instance)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def finalize(self, request: Request, pk: str) -> Response:
        # The service returns the invoice with what its representation reads.
        # The service locks and reads the invoice itself: this only finds it.
        found = get_object_or_404(scope_to_tenant(Invoice.objects.all(), request), pk=pk)
        self.check_object_permissions(request, found)
        invoice = invoices.invoice_finalize(invoice=found, now=self.tenant_now())
        return Response(self.get_serializer(invoice).data)

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def uncollectible(self, request: Request, pk: str) -> Response:
        return self._respond(
            invoices.invoice_toggle_uncollectible(invoice=self.get_object(), now=self.tenant_now())
        )

    @extend_schema(request=None, responses=InvoiceSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Annul a finalized invoice with a credit note (reason 1) created and finalized in
        the same transaction; find it at `/creditnotes/?invoice={id}`."""
        credit_note = notes.invoice_cancel(invoice=self.get_object(), now=self.tenant_now())
        return self._respond(credit_note.invoice)

    @extend_schema(
        request=None,
        responses={
            200: InvoiceSerializer,
            502: OpenApiResponse(ErrorSerializer, description="The mail server refused it."),
        },
    )
    @action(detail=True, methods=["post"])
    def send(self, request: Request, pk: str) -> Response:
        return self._respond(invoice_send(invoice=self.get_object(), now=self.tenant_now()))
