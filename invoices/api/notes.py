"""`/creditnotes/` and `/debitnotes/`: drafts referencing an invoice, finalized by POST or
GET (Piriod documents finalize as GET). The rules live in invoices.services.notes."""

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.representations import TenantModelSerializer
from billing.api.viewsets import TenantModelViewSet
from billing.models import DocumentType
from invoices.api.serializers import (
    DocumentReferenceSerializer,
    DocumentTotalsFields,
    InvoiceLineSerializer,
    computed_amount,
)
from invoices.choices import ReferenceReason
from invoices.filters import CreditNoteFilter, DebitNoteFilter
from invoices.models import CreditNote, CreditNoteLine, DebitNote
from invoices.selectors import credit_note_queryset, debit_note_queryset
from invoices.services import notes


class NoteLineSerializer(InvoiceLineSerializer):
    """A line of a credit or debit note (an invoice line without `plan`)."""

    plan = None  # type: ignore[assignment]

    class Meta(InvoiceLineSerializer.Meta):
        model = CreditNoteLine  # type: ignore[assignment]  # debit note lines: same fields
        fields = [name for name in InvoiceLineSerializer.Meta.fields if name != "plan"]


class NoteSerializer(DocumentTotalsFields, TenantModelSerializer):
    document = serializers.PrimaryKeyRelatedField(
        queryset=DocumentType.objects.all(),
        required=False,
        help_text="A credit (debit) note type of the workspace's country. Defaults to the "
        "type correcting the invoice's: 61 (56) in Chile, 112 (111) for an export invoice "
        "(110), the generic CN (DN) elsewhere.",
    )
    reason = serializers.ChoiceField(
        choices=ReferenceReason.choices,
        help_text="The SII's CodRef. 1 annuls the invoice (mirrors its lines; send none), "
        "2 corrects text (no amounts; `description` is the correction; send no lines), "
        "3 corrects amounts (`lines` required).",
    )
    description = serializers.CharField(
        max_length=90,
        required=False,
        allow_blank=True,
        help_text="Why the note is issued (the reference's RazonRef).",
    )
    date = serializers.DateField(
        required=False, help_text="Defaults to today in the workspace's timezone."
    )
    lines = NoteLineSerializer(many=True, required=False)
    customer = serializers.CharField(source="customer_id", read_only=True)
    currency = serializers.CharField(source="currency_id", read_only=True)
    references = DocumentReferenceSerializer(
        many=True, read_only=True, help_text="The reference to the invoice, filled by the server."
    )
    discount = computed_amount()
    custom_change = serializers.DecimalField(
        max_digits=18, decimal_places=6, read_only=True, normalize_output=True
    )

    class Meta:
        fields = [
            "id", "invoice", "customer", "document", "number", "date", "reason", "description",
            "currency", "note", "lines", "references", "discount", "discount_scheme",
            "custom_change", "amount", "exempt", "discount_amount", "subtotal", "tax",
            "tax_percent", "total", "retention", "total_adjusted", "status", "biller_status",
            "tax_agency", "local_file", "finalized_at", "metadata", "test_mode", "created",
            "updated",
        ]  # fmt: skip
        read_only_fields = [
            "number", "status", "discount_scheme", "biller_status", "tax_agency", "finalized_at",
        ]  # fmt: skip


class CreditNoteSerializer(NoteSerializer):
    class Meta(NoteSerializer.Meta):
        model = CreditNote


class DebitNoteSerializer(NoteSerializer):
    class Meta(NoteSerializer.Meta):
        model = DebitNote


class NoteViewSet(TenantModelViewSet):
    search_fields = ["description", "note", "customer__name", "customer__tax_id"]
    ordering_fields = ("created", "updated", "date", "number", "total")

    def perform_destroy(self, instance: notes.Note) -> None:
        notes.note_delete(note=instance)

    def _finalize(self) -> Response:
        note = notes.note_finalize(note=self.get_object(), now=self.tenant_now())
        return Response(self.get_serializer(self.get_queryset().get(pk=note.pk)).data)


class CreditNoteViewSet(NoteViewSet):
    queryset = credit_note_queryset()
    serializer_class = CreditNoteSerializer
    filterset_class = CreditNoteFilter

    def perform_create(self, serializer: CreditNoteSerializer) -> None:  # type: ignore[override]
        serializer.instance = notes.credit_note_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **serializer.validated_data,
        )

    def perform_update(self, serializer: CreditNoteSerializer) -> None:  # type: ignore[override]
        serializer.instance = notes.credit_note_update(
            credit_note=cast(CreditNote, serializer.instance), **serializer.validated_data
        )

    @extend_schema(request=None, responses=CreditNoteSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Number the credit note and freeze it (GET is accepted too, as in Piriod)."""
        return self._finalize()


class DebitNoteViewSet(NoteViewSet):
    queryset = debit_note_queryset()
    serializer_class = DebitNoteSerializer
    filterset_class = DebitNoteFilter

    def perform_create(self, serializer: DebitNoteSerializer) -> None:  # type: ignore[override]
        serializer.instance = notes.debit_note_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **serializer.validated_data,
        )

    def perform_update(self, serializer: DebitNoteSerializer) -> None:  # type: ignore[override]
        serializer.instance = notes.debit_note_update(
            debit_note=cast(DebitNote, serializer.instance), **serializer.validated_data
        )

    @extend_schema(request=None, responses=DebitNoteSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Number the debit note and freeze it (GET is accepted too, as in Piriod)."""
        return self._finalize()
