"""What purchases, purchase credit notes and retentions look like to the outside: API
responses and event payloads."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from billing.models import DocumentType
from billing.representations import (
    IdRelatedField,
    TenantModelSerializer,
    TenantRelatedField,
    snapshot,
)
from invoices.choices import MAX_REFERENCES, ReferenceReason
from invoices.representations import (
    DocumentFileField,
    DocumentReferenceSerializer,
    DocumentTotalsFields,
    InvoiceLineSerializer,
    amount_field,
    computed_amount,
)
from procurement.models import (
    Purchase,
    PurchaseCreditNote,
    PurchaseLine,
    Retention,
    RetentionLine,
)

_NUMBER_MAX = 2**63 - 1


class PurchaseLineSerializer(InvoiceLineSerializer):
    """A purchase line: an invoice line without `plan`."""

    plan = None  # type: ignore[assignment]

    class Meta(InvoiceLineSerializer.Meta):
        model = PurchaseLine  # type: ignore[assignment]  # credit note lines: same fields
        fields = [
            name for name in InvoiceLineSerializer.Meta.fields if name not in ("plan", "line_type")
        ]


class RetentionLineSerializer(PurchaseLineSerializer):
    """A retention line: the service's gross amount; the rate is the document's."""

    class Meta(PurchaseLineSerializer.Meta):
        model = RetentionLine  # type: ignore[assignment]
        fields = [
            "id", "name", "description", "quantity", "amount", "discount", "discount_scheme",
            "code", "code_scheme", "unit_label", "retention_percent", "total", "retention",
        ]  # fmt: skip
        read_only_fields = ["id", "total", "retention", "retention_percent"]


def _number_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0, max_value=_NUMBER_MAX, required=False, allow_null=True, help_text=help_text
    )


class SupplierDocumentSerializer(DocumentTotalsFields, TenantModelSerializer):
    currency = serializers.CharField(source="currency_id", read_only=True)
    discount = amount_field(min_value=Decimal(0), required=False)
    custom_change = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=Decimal(1), required=False
    )

    TOTALS = [
        "discount", "discount_scheme", "custom_change", "amount", "exempt", "discount_amount",
        "subtotal", "tax", "tax_percent", "additional_tax", "additional_taxes", "total",
        "retention", "total_adjusted",
    ]  # fmt: skip
    STATE = ["status", "biller_status", "tax_agency", "local_file", "finalized_at"]


class PurchaseSerializer(SupplierDocumentSerializer):
    document = IdRelatedField(
        queryset=DocumentType.objects.all(),
        help_text="A purchase document type of the workspace's country, e.g. 33, 34, or 46 "
        "(factura de compra, issued and numbered by the workspace).",
    )
    number = _number_field(
        "The supplier's folio (required, > 0); for a self-issued type (46) 0 or absent: "
        "the next of the workspace's own sequence is taken at finalize."
    )
    lines = PurchaseLineSerializer(many=True, required=False)
    references = DocumentReferenceSerializer(  # type: ignore[call-arg]
        many=True, required=False, max_length=MAX_REFERENCES
    )
    imported = serializers.BooleanField(
        required=False,
        help_text="Recorded from elsewhere and already reported to the tax agency: finalize "
        "sets biller_status succeeded without a submission. Requires the number.",
    )

    class Meta:
        model = Purchase
        fields = [
            "id", "supplier", "document", "number", "date", "due_date", "currency", "note",
            "lines", "references", *SupplierDocumentSerializer.TOTALS,
            *SupplierDocumentSerializer.STATE, "imported", "metadata", "test_mode", "created",
            "updated",
        ]  # fmt: skip
        read_only_fields = ["status", "biller_status", "tax_agency", "finalized_at"]


class PurchaseCreditNoteSerializer(SupplierDocumentSerializer):
    document = IdRelatedField(
        queryset=DocumentType.objects.all(),
        required=False,
        help_text="A purchase credit note type; defaults to 61 in Chile, CN elsewhere.",
    )
    number = _number_field(
        "The supplier's folio; 0 or absent when the purchase was self-issued (46): the "
        "workspace's next number is taken at finalize."
    )
    reason = serializers.ChoiceField(
        choices=ReferenceReason.choices,
        required=False,
        help_text="The SII's CodRef: 1 annuls (mirrors the purchase's lines when none are "
        "sent), 2 corrects text (no lines; `description` is the correction), 3 corrects "
        "amounts (`lines`). Absent (Piriod's body has none): 3 when `lines` are sent, "
        "otherwise 1.",
    )
    description = serializers.CharField(max_length=90, required=False, allow_blank=True)
    date = serializers.DateField(
        required=False, help_text="Defaults to today in the workspace's timezone."
    )
    supplier = serializers.CharField(source="supplier_id", read_only=True)
    lines = PurchaseLineSerializer(many=True, required=False)
    references = DocumentReferenceSerializer(
        many=True, read_only=True, help_text="The reference to the purchase, by the server."
    )
    discount = computed_amount()
    discount_scheme = serializers.CharField(read_only=True)
    custom_change = serializers.DecimalField(
        max_digits=18, decimal_places=6, read_only=True, normalize_output=True
    )

    class Meta:
        model = PurchaseCreditNote
        fields = [
            "id", "purchase", "supplier", "document", "number", "date", "reason",
            "description", "currency", "note", "lines", "references",
            *SupplierDocumentSerializer.TOTALS, *SupplierDocumentSerializer.STATE,
            "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["status", "biller_status", "tax_agency", "finalized_at"]


class RetentionSerializer(TenantModelSerializer):
    document = IdRelatedField(
        queryset=DocumentType.objects.all(),
        required=False,
        help_text="A retention document type; defaults to the country's (BTE in Chile).",
    )
    purchase = TenantRelatedField(
        queryset=Purchase.objects.all(),
        required=False,
        allow_null=True,
        help_text="A purchase of the same supplier this retention pays, if any.",
    )
    currency = serializers.CharField(source="currency_id", read_only=True)
    lines = RetentionLineSerializer(many=True, required=False)
    amount = amount_field(
        source="subtotal",
        min_value=Decimal(0),
        required=False,
        normalize_output=True,
        help_text="The gross amount. On write, a shortcut for one line of that amount "
        "(sent with `lines`, it must be their sum); on read, the sum of the lines.",
    )
    retention_percent = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        read_only=True,
        normalize_output=True,
        help_text="The honorarios rate in force on `date` (13.75 in 2024 … 17 from 2028).",
    )
    retention = computed_amount(help_text="round(amount × retention_percent / 100), half-up.")
    total = computed_amount(source="total_adjusted", help_text="Net: amount − retention.")
    local_file = DocumentFileField()

    class Meta:
        model = Retention
        fields = [
            "id", "supplier", "purchase", "document", "number", "date", "currency", "note",
            "lines", "amount", "retention_percent", "retention", "total", "status",
            "biller_status", "tax_agency", "local_file", "finalized_at", "metadata",
            "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["number", "status", "biller_status", "tax_agency", "finalized_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # `amount` arrives under its source name; the services call it the gross amount.
        if "subtotal" in attrs:
            attrs["amount"] = attrs.pop("subtotal")
        return attrs


def purchase_snapshot(purchase: Purchase) -> dict[str, Any]:
    return snapshot(PurchaseSerializer, purchase)


def purchase_credit_note_snapshot(note: PurchaseCreditNote) -> dict[str, Any]:
    return snapshot(PurchaseCreditNoteSerializer, note)


def retention_snapshot(retention: Retention) -> dict[str, Any]:
    return snapshot(RetentionSerializer, retention)
