from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet
from billing.clock import workspace_today
from invoices.api.files import PdfRouteMixin, XmlRouteMixin
from invoices.api.filing import RetrySubmissionMixin
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

    def create_object(self, data: dict[str, Any]) -> Supplier:
        return suppliers.supplier_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **data,
        )

    def update_object(self, instance: Supplier, data: dict[str, Any]) -> Supplier:
        return suppliers.supplier_update(supplier=instance, **data)

    def perform_destroy(self, instance: Supplier) -> None:
        suppliers.supplier_delete(supplier=instance)


class SupplierDocumentViewSet(PdfRouteMixin, RetrySubmissionMixin, TenantModelViewSet):
    actions_without_body = ("retry_submission",)
    search_fields = ["note", "supplier__name", "supplier__tax_id"]
    ordering_fields = ("created", "updated", "date", "number", "total")


# A document the workspace issues (a factura de compra, its notes) has its DTE at
# `xml/`; a supplier's own document has no DTE of ours, a 409.
class PurchaseViewSet(XmlRouteMixin, SupplierDocumentViewSet):
    queryset = purchase_queryset()
    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFilter

    def create_object(self, data: dict[str, Any]) -> Purchase:
        return purchases.purchase_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **data,
        )

    def update_object(self, instance: Purchase, data: dict[str, Any]) -> Purchase:
        return purchases.purchase_update(purchase=instance, **data)

    def perform_destroy(self, instance: Purchase) -> None:
        purchases.purchase_delete(purchase=instance)

    @extend_schema(request=None, responses=PurchaseSerializer)
    @action(detail=True, methods=["post"])
    def finalize(self, request: Request, pk: str) -> Response:
        return self._respond(
            purchases.purchase_finalize(purchase=self.get_object(), now=self.tenant_now())
        )


class PurchaseCreditNoteViewSet(XmlRouteMixin, SupplierDocumentViewSet):
    queryset = purchase_credit_note_queryset()
    serializer_class = PurchaseCreditNoteSerializer
    filterset_class = PurchaseCreditNoteFilter

    def create_object(self, data: dict[str, Any]) -> PurchaseCreditNote:
        workspace = self.request.workspace
        data.setdefault("date", workspace_today(workspace, self.tenant_now()))
        return credit_notes.purchase_credit_note_create(
            workspace=workspace, test_mode=self.request.test_mode, **data
        )

    def update_object(
        self, instance: PurchaseCreditNote, data: dict[str, Any]
    ) -> PurchaseCreditNote:
        return credit_notes.purchase_credit_note_update(
            credit_note=instance,
            **data,
        )

    def perform_destroy(self, instance: PurchaseCreditNote) -> None:
        credit_notes.purchase_credit_note_delete(credit_note=instance)

    @extend_schema(request=None, responses=PurchaseCreditNoteSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Number the credit note and freeze it (GET is accepted too, as in Piriod)."""
        return self._finalize_respond(
            lambda credit_note: credit_notes.purchase_credit_note_finalize(
                credit_note=credit_note, now=self.tenant_now()
            )
        )


class RetentionViewSet(SupplierDocumentViewSet):
    queryset = retention_queryset()
    serializer_class = RetentionSerializer
    filterset_class = RetentionFilter
    ordering_fields = ("created", "updated", "date", "number", "total")

    def create_object(self, data: dict[str, Any]) -> Retention:
        return retentions.retention_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **data,
        )

    def update_object(self, instance: Retention, data: dict[str, Any]) -> Retention:
        return retentions.retention_update(retention=instance, **data)

    def perform_destroy(self, instance: Retention) -> None:
        retentions.retention_delete(retention=instance)

    @extend_schema(request=None, responses=RetentionSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Withhold at the date's rate, number and freeze (GET accepted, as in Piriod)."""
        return self._finalize_respond(
            lambda retention: retentions.retention_finalize(
                retention=retention, now=self.tenant_now()
            )
        )
