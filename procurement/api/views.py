from typing import Any, cast

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet
from billing.clock import workspace_today
from billing.models import FiscalDocument
from invoices.api.files import PDF_RESPONSES, PdfContentNegotiation, pdf_response
from invoices.pdf.render import document_filename
from invoices.pdf.storage import document_pdf
from procurement.api.serializers import SupplierSerializer
from procurement.filters import (
    PurchaseCreditNoteFilter,
    PurchaseFilter,
    RetentionFilter,
    SupplierFilter,
)
from procurement.models import Purchase, PurchaseCreditNote, Retention, Supplier
from procurement.representations import (
    PurchaseCreditNoteSerializer,
    PurchaseSerializer,
    RetentionSerializer,
)
from procurement.selectors import (
    purchase_credit_note_queryset,
    purchase_queryset,
    retention_queryset,
    supplier_queryset,
)
from procurement.services import credit_notes, purchases, retentions, suppliers


class SupplierViewSet(TenantModelViewSet):
    queryset = supplier_queryset()
    serializer_class = SupplierSerializer
    filterset_class = SupplierFilter
    search_fields = ["name", "email", "tax_id"]
    ordering_fields = ("created", "updated", "name")

    def perform_create(self, serializer: SupplierSerializer) -> None:  # type: ignore[override]
        serializer.instance = suppliers.supplier_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **serializer.validated_data,
        )

    def perform_update(self, serializer: SupplierSerializer) -> None:  # type: ignore[override]
        serializer.instance = suppliers.supplier_update(
            supplier=cast(Supplier, serializer.instance), **serializer.validated_data
        )

    def perform_destroy(self, instance: Supplier) -> None:
        suppliers.supplier_delete(supplier=instance)


class SupplierDocumentViewSet(TenantModelViewSet):
    search_fields = ["note", "supplier__name", "supplier__tax_id"]
    ordering_fields = ("created", "updated", "date", "number", "total")

    def _respond(self, document: FiscalDocument) -> Response:
        fresh = self.get_queryset().get(pk=document.pk)
        return Response(self.get_serializer(fresh).data)

    def _pdf(self) -> HttpResponse:
        document = self.get_object()
        return pdf_response(document_pdf(document=document), document_filename(document))


class PurchaseViewSet(SupplierDocumentViewSet):
    queryset = purchase_queryset()
    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFilter

    def perform_create(self, serializer: PurchaseSerializer) -> None:  # type: ignore[override]
        serializer.instance = purchases.purchase_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **serializer.validated_data,
        )

    def perform_update(self, serializer: PurchaseSerializer) -> None:  # type: ignore[override]
        serializer.instance = purchases.purchase_update(
            purchase=cast(Purchase, serializer.instance), **serializer.validated_data
        )

    def perform_destroy(self, instance: Purchase) -> None:
        purchases.purchase_delete(purchase=instance)

    @extend_schema(request=None, responses=PurchaseSerializer)
    @action(detail=True, methods=["post"])
    def finalize(self, request: Request, pk: str) -> Response:
        return self._respond(
            purchases.purchase_finalize(purchase=self.get_object(), now=self.tenant_now())
        )

    @extend_schema(request=None, responses=PDF_RESPONSES)
    @action(detail=True, methods=["get"], content_negotiation_class=PdfContentNegotiation)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        return self._pdf()


class PurchaseCreditNoteViewSet(SupplierDocumentViewSet):
    queryset = purchase_credit_note_queryset()
    serializer_class = PurchaseCreditNoteSerializer
    filterset_class = PurchaseCreditNoteFilter

    def perform_create(self, serializer: PurchaseCreditNoteSerializer) -> None:  # type: ignore[override]
        data: dict[str, Any] = dict(serializer.validated_data)
        workspace = self.request.workspace
        data.setdefault("date", workspace_today(workspace, self.tenant_now()))
        serializer.instance = credit_notes.purchase_credit_note_create(
            workspace=workspace, test_mode=self.request.test_mode, **data
        )

    def perform_update(self, serializer: PurchaseCreditNoteSerializer) -> None:  # type: ignore[override]
        serializer.instance = credit_notes.purchase_credit_note_update(
            credit_note=cast(PurchaseCreditNote, serializer.instance),
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: PurchaseCreditNote) -> None:
        credit_notes.purchase_credit_note_delete(credit_note=instance)

    @extend_schema(request=None, responses=PurchaseCreditNoteSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Number the credit note and freeze it (GET is accepted too, as in Piriod)."""
        return self._respond(
            credit_notes.purchase_credit_note_finalize(
                credit_note=self.get_object(), now=self.tenant_now()
            )
        )

    @extend_schema(request=None, responses=PDF_RESPONSES)
    @action(detail=True, methods=["get"], content_negotiation_class=PdfContentNegotiation)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        return self._pdf()


class RetentionViewSet(SupplierDocumentViewSet):
    queryset = retention_queryset()
    serializer_class = RetentionSerializer
    filterset_class = RetentionFilter
    ordering_fields = ("created", "updated", "date", "number", "total_adjusted")

    def perform_create(self, serializer: RetentionSerializer) -> None:  # type: ignore[override]
        serializer.instance = retentions.retention_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **serializer.validated_data,
        )

    def perform_update(self, serializer: RetentionSerializer) -> None:  # type: ignore[override]
        serializer.instance = retentions.retention_update(
            retention=cast(Retention, serializer.instance), **serializer.validated_data
        )

    def perform_destroy(self, instance: Retention) -> None:
        retentions.retention_delete(retention=instance)

    @extend_schema(request=None, responses=RetentionSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Withhold at the date's rate, number and freeze (GET accepted, as in Piriod)."""
        return self._respond(
            retentions.retention_finalize(retention=self.get_object(), now=self.tenant_now())
        )

    @extend_schema(request=None, responses=PDF_RESPONSES)
    @action(detail=True, methods=["get"], content_negotiation_class=PdfContentNegotiation)
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        return self._pdf()
