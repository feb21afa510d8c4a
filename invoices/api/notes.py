"""`/creditnotes/` and `/debitnotes/`: drafts referencing an invoice, finalized by POST or
GET (Piriod documents finalize as GET). The rules live in invoices.services.notes."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet
from invoices.api.files import PdfRouteMixin, XmlRouteMixin
from invoices.api.filing import RetrySubmissionMixin
from invoices.filters import CreditNoteFilter, DebitNoteFilter
from invoices.models import CreditNote, DebitNote
from invoices.representations import CreditNoteSerializer, DebitNoteSerializer
from invoices.selectors import credit_note_queryset, debit_note_queryset
from invoices.services import notes


class NoteViewSet(PdfRouteMixin, XmlRouteMixin, RetrySubmissionMixin, TenantModelViewSet):
    actions_without_body = ("finalize", "retry_submission")
    search_fields = ["description", "note", "customer__name", "customer__tax_id"]
    ordering_fields = ("created", "updated", "date", "number", "total")

    def perform_destroy(self, instance: notes.Note) -> None:
        notes.note_delete(note=instance)

    def _finalize(self) -> Response:
        return self._finalize_respond(
            lambda note: notes.note_finalize(note=note, now=self.tenant_now())
        )


class CreditNoteViewSet(NoteViewSet):
    queryset = credit_note_queryset()
    serializer_class = CreditNoteSerializer
    filterset_class = CreditNoteFilter

    def create_object(self, data: dict[str, Any]) -> CreditNote:
        return notes.credit_note_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **data,
        )

    def update_object(self, instance: CreditNote, data: dict[str, Any]) -> CreditNote:
        return notes.credit_note_update(credit_note=instance, **data)

    @extend_schema(request=None, responses=CreditNoteSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Number the credit note and freeze it (GET is accepted too, as in Piriod)."""
        return self._finalize()


class DebitNoteViewSet(NoteViewSet):
    queryset = debit_note_queryset()
    serializer_class = DebitNoteSerializer
    filterset_class = DebitNoteFilter

    def create_object(self, data: dict[str, Any]) -> DebitNote:
        return notes.debit_note_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **data,
        )

    def update_object(self, instance: DebitNote, data: dict[str, Any]) -> DebitNote:
        return notes.debit_note_update(debit_note=instance, **data)

    @extend_schema(request=None, responses=DebitNoteSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Number the debit note and freeze it (GET is accepted too, as in Piriod)."""
        return self._finalize()
