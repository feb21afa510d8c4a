"""What invoices, credit and debit notes and orders look like to the outside: API
responses and event payloads."""

from decimal import Decimal
from typing import Any, ClassVar

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.additional_taxes import additional_taxes
from billing.models import Currency, DocumentType, FiscalDocument
from billing.money import AMOUNT_DECIMAL_PLACES
from billing.representation_plans import planned_list, planned_snapshot
from billing.representations import (
    CodeField,
    IdRelatedField,
    StrictFieldsMixin,
    TenantIdField,
    TenantModelSerializer,
    TenantRelatedField,
    quantity_field,
    snapshot,
)
from billing.row_plans import reads_own_row
from catalog.models import Plan, Tax
from catalog.selectors import plan_unsellable
from invoices.choices import MAX_REFERENCES, ReferenceReason
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DebitNote,
    Invoice,
    InvoiceLine,
    Order,
    OrderItem,
)
from invoices.pdf.storage import document_file_url
from invoices.selectors import invoice_amount_due, invoice_payments
from organization.models import OrgUnit


def amount_field(**kwargs: Any) -> serializers.DecimalField:
    # Up to 6 decimals and 18 integer digits; anything larger is a 400, never a 500.
    return serializers.DecimalField(max_digits=24, decimal_places=AMOUNT_DECIMAL_PLACES, **kwargs)


def computed_amount(**kwargs: Any) -> serializers.DecimalField:
    # Totals are whole minor units of the currency; `normalize` drops the zero padding of
    # the stored six decimals ("19000", "118.5") — clients read them as decimal strings.
    return serializers.DecimalField(
        max_digits=24,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        read_only=True,
        normalize_output=True,
        **kwargs,
    )


@extend_schema_field(serializers.URLField(allow_null=True))
@reads_own_row
class DocumentFileField(serializers.Field):
    """A document's `local_file`, read from the document itself."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "A signed link to the PDF that needs no token and expires; null until the PDF "
            "of a finalized document is stored.",
        )
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, document: FiscalDocument) -> str | None:
        return document_file_url(document)


class AdditionalTaxTotalSerializer(serializers.Serializer):
    """One additional tax's total on a document: its SII code, rate and amount."""

    code = serializers.CharField(read_only=True)
    percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, read_only=True, normalize_output=True
    )
    amount = computed_amount(help_text="round(Σ net of its lines × percent / 100), half-up.")


class DocumentTotalsFields(serializers.Serializer):
    """The totals every fiscal document stores at finalize (billing/totals.py), read-only."""

    amount = computed_amount()
    exempt = computed_amount()
    discount_amount = computed_amount()
    subtotal = computed_amount()
    tax = computed_amount()
    total = computed_amount()
    retention = computed_amount()
    total_adjusted = computed_amount()
    tax_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, read_only=True, normalize_output=True
    )
    additional_tax = computed_amount(
        help_text="Chile's additional taxes (lines' `additional_tax`), apart from `tax` and "
        "included in `total`."
    )
    additional_taxes = AdditionalTaxTotalSerializer(
        many=True, read_only=True, help_text="The additional taxes per SII code."
    )
    local_file = DocumentFileField()


class DocumentReferenceSerializer(StrictFieldsMixin, serializers.Serializer):
    """A referenced document (the SII's Referencia): type, folio, date, reason."""

    document = serializers.CharField(max_length=8)
    serial = serializers.CharField(max_length=18)
    date = serializers.DateField()
    code = serializers.ChoiceField(choices=ReferenceReason.choices, required=False, allow_null=True)
    description = serializers.CharField(max_length=90, required=False, allow_blank=True)


class InvoiceLineSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    quantity = quantity_field(min_value=Decimal(0), default=Decimal(1))
    amount = amount_field(min_value=Decimal(0))
    discount = amount_field(min_value=Decimal(0), required=False)
    tax_percent = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
        allow_null=True,
    )
    retention_percent = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
    )
    plan = TenantIdField(
        source="plan_id", queryset=Plan.objects.all(), required=False, allow_null=True
    )
    tax = TenantRelatedField(
        queryset=Tax.objects.all(),
        required=False,
        allow_null=True,
        help_text="A tax rule (`tax_…`, /taxes/): the line takes its percent as `tax_percent`, "
        "and an exempt rule makes the line exempt. Without one the document type's tax applies.",
    )
    additional_tax = serializers.ChoiceField(
        choices=sorted(additional_taxes(), key=int),
        required=False,
        allow_blank=True,
        help_text="Chile: an additional tax (impuesto adicional) the line bears, by its SII "
        "code (24 licores 31.5%, 25 vinos 20.5%, 26 cervezas 20.5%, 27 bebidas analcohólicas "
        "10%, 271 con elevado azúcar 18%, …). Its rate is taken from the SII's table.",
    )
    additional_tax_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, read_only=True, allow_null=True, normalize_output=True
    )
    # The base the retention is computed on; the subtotal is the only one (rules §2).
    retention_scheme = serializers.ChoiceField(choices=["subtotal"], default="subtotal")
    total = computed_amount()
    retention = computed_amount()

    class Meta:
        model = InvoiceLine
        fields = [
            "id",
            "name",
            "description",
            "quantity",
            "amount",
            "exempt",
            "tax",
            "tax_percent",
            "additional_tax",
            "additional_tax_percent",
            "discount",
            "discount_scheme",
            "code",
            "code_scheme",
            "unit_label",
            "plan",
            "line_type",
            "retention_percent",
            "retention_scheme",
            "total",
            "retention",
        ]
        read_only_fields = ["id", "line_type", "total", "retention", "additional_tax_percent"]


class InvoicePaymentSerializer(serializers.Serializer):
    """A payment applied to the invoice: its share here and what of it was refunded."""

    payment = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    amount = computed_amount()
    amount_refunded = computed_amount()
    payment_date = serializers.DateTimeField(read_only=True, allow_null=True)


def invoice_payment_rows(invoice: Invoice) -> list[dict[str, Any]]:
    rows = [
        {
            **row,
            "amount": Decimal(row["amount"]),
            "amount_refunded": Decimal(row["amount_refunded"]),
            "payment_date": parse_datetime(row["payment_date"] or ""),
        }
        for row in invoice_payments(invoice)
    ]
    return planned_list(InvoicePaymentSerializer, rows)


@reads_own_row
class AmountDueField(serializers.DecimalField):
    """What the customer still owes on the invoice (invoices.selectors.invoice_amount_due)."""

    def get_attribute(self, instance: Invoice) -> Decimal:
        return invoice_amount_due(instance)


# The invoice's copy in Stripe, when the workspace syncs invoices; written only by the sync.
STRIPE_FIELDS = [
    "stripe_id",
    "stripe_status",
    "stripe_sync_status",
    "stripe_synced_at",
    "stripe_hosted_invoice_url",
    "stripe_invoice_pdf",
]


class InvoiceSerializer(DocumentTotalsFields, TenantModelSerializer):
    document = IdRelatedField(queryset=DocumentType.objects.all())
    currency = serializers.CharField(source="currency_id", read_only=True)
    lines = InvoiceLineSerializer(many=True, required=False)
    # many=True hands max_length to the ListSerializer (the stubs do not know it).
    references = DocumentReferenceSerializer(  # type: ignore[call-arg]
        many=True, required=False, max_length=MAX_REFERENCES
    )
    discount = amount_field(min_value=Decimal(0), required=False)
    custom_change = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=Decimal(1), required=False
    )
    subscription = serializers.CharField(source="subscription_id", read_only=True, allow_null=True)
    uncollectible = serializers.DateTimeField(source="uncollectible_at", read_only=True)
    amount_due = AmountDueField(
        max_digits=24,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        read_only=True,
        normalize_output=True,
        help_text="total_adjusted less finalized credit notes plus finalized debit notes, "
        "less succeeded payments net of their refunds.",
    )
    payments = serializers.SerializerMethodField(
        help_text="Payments applied to the invoice, oldest first."
    )

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A line brings in only a plan still on sale (not archived, nor its product); a
        plan the draft's lines already name stays (a cycle's draft of an archived plan,
        retrieved and PUT back)."""
        named = {line["plan_id"] for line in lines if line.get("plan_id")}
        held = (
            set(self.instance.lines.values_list("plan_id", flat=True)) if self.instance else set()
        )
        plans = Plan.objects.select_related("product").in_bulk(named - held)
        errors = {
            str(index): {"plan": [unsellable]}
            for index, line in enumerate(lines)
            if (plan := plans.get(line.get("plan_id"))) and (unsellable := plan_unsellable(plan))
        }
        if errors:
            raise serializers.ValidationError(errors)
        return lines

    @extend_schema_field(InvoicePaymentSerializer(many=True))
    @reads_own_row
    def get_payments(self, invoice: Invoice) -> list[dict[str, Any]]:
        return invoice_payment_rows(invoice)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "customer",
            "document",
            "number",
            "date",
            "due_date",
            "collection_method",
            "orgunit",
            "currency",
            "period_start",
            "period_end",
            "note",
            "lines",
            "references",
            "discount",
            "discount_scheme",
            "custom_change",
            "amount",
            "exempt",
            "discount_amount",
            "subtotal",
            "tax",
            "tax_percent",
            "additional_tax",
            "additional_taxes",
            "total",
            "retention",
            "total_adjusted",
            "amount_due",
            "payments",
            "status",
            "biller_status",
            "tax_agency",
            "local_file",
            "subscription",
            "imported",
            "uncollectible",
            "finalized_at",
            "sent_at",
            "stripe_id",
            "stripe_status",
            "stripe_sync_status",
            "stripe_synced_at",
            "stripe_hosted_invoice_url",
            "stripe_invoice_pdf",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = [
            "number",
            "status",
            "biller_status",
            "tax_agency",
            "finalized_at",
            "sent_at",
            "imported",
            *STRIPE_FIELDS,
        ]

    read_only_set_by: ClassVar[dict[str, str]] = {
        "status": "The status changes with the finalize, uncollectible and cancel actions.",
        "number": "The number is assigned at finalize.",
        "imported": "Invoices are issued here: importing one issued elsewhere is not supported.",
    }


class NoteLineSerializer(InvoiceLineSerializer):
    """A line of a credit or debit note (an invoice line without `plan`)."""

    plan = None  # type: ignore[assignment]

    class Meta(InvoiceLineSerializer.Meta):
        model = CreditNoteLine  # type: ignore[assignment]  # debit note lines: same fields
        fields = [
            name for name in InvoiceLineSerializer.Meta.fields if name not in ("plan", "line_type")
        ]


class NoteSerializer(DocumentTotalsFields, TenantModelSerializer):
    document = IdRelatedField(
        queryset=DocumentType.objects.all(),
        required=False,
        help_text="A credit (debit) note type of the workspace's country. Defaults to the "
        "type correcting the invoice's: 61 (56) in Chile, 112 (111) for an export invoice "
        "(110), the generic CN (DN) elsewhere.",
    )
    reason = serializers.ChoiceField(
        choices=ReferenceReason.choices,
        required=False,
        help_text="The SII's CodRef. 1 annuls the invoice (mirrors its lines; send none), "
        "2 corrects text (no amounts; `description` is the correction; send no lines), "
        "3 corrects amounts (`lines` required). Absent (Piriod's body has none): 3 when "
        "`lines` are sent, otherwise 1 on a credit note; always 3 on a debit note.",
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
            "tax_percent", "additional_tax", "additional_taxes", "total", "retention",
            "total_adjusted", "status", "biller_status",
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


class OrderItemSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    name = serializers.CharField(
        max_length=256, required=False, help_text="Defaults to the plan's or product's name."
    )
    product = serializers.CharField(
        source="product_id", max_length=40, required=False, allow_null=True,
        help_text="A catalog product (`pro_…`): its name and unit label; `amount` is required.",
    )  # fmt: skip
    plan = serializers.CharField(
        source="plan_id", max_length=40, required=False, allow_null=True,
        help_text="A catalog plan (`pla_…`): the unit price comes from the plan.",
    )  # fmt: skip
    quantity = quantity_field(min_value=Decimal(0), default=Decimal(1))
    amount = amount_field(
        min_value=Decimal(0), required=False, help_text="Unit price; not sent with a plan."
    )
    discount = amount_field(min_value=Decimal(0), required=False)
    total = computed_amount()

    class Meta:
        model = OrderItem
        fields = [
            "id", "name", "description", "product", "plan", "quantity", "amount", "exempt",
            "discount", "discount_scheme", "code", "code_scheme", "unit_label", "total",
        ]  # fmt: skip
        read_only_fields = ["id", "total"]


class OrderSerializer(TenantModelSerializer):
    currency = CodeField(
        queryset=Currency.objects.all(),
        required=False,
        help_text="Defaults to the customer's currency, the one its invoices are issued in.",
    )
    document = IdRelatedField(
        queryset=DocumentType.objects.all(),
        required=False,
        help_text="The invoice type the order produces; defaults to the workspace "
        "country's main invoice type (33 in Chile).",
    )
    items = OrderItemSerializer(many=True, allow_empty=False, required=False)
    lines = OrderItemSerializer(
        source="items", many=True, allow_empty=False, required=False,
        help_text="Piriod's name for `items`: the same list, in and out. Send one of them.",
    )  # fmt: skip
    date = serializers.DateField(
        required=False, allow_null=True,
        help_text="The order's date; defaults to today in the workspace's timezone.",
    )  # fmt: skip
    coupon = serializers.CharField(
        source="coupon_id",
        max_length=64,
        required=False,
        allow_null=True,
        help_text="A coupon's code or id in; its id out. Applied as the document discount.",
    )
    invoice = serializers.CharField(source="invoice_id", read_only=True, allow_null=True)
    billing_cycle = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True,
        help_text="With a plan: how many invoices its subscription issues, this order's "
        "included (the subscription's `billing_cycles`); null: until cancelled. The "
        "frequency is the plans'.",
    )  # fmt: skip
    subscription = serializers.CharField(
        source="subscription_id", read_only=True, allow_null=True,
        help_text="The subscription the order's plans started when it was invoiced.",
    )  # fmt: skip
    orgunit = TenantRelatedField(
        queryset=OrgUnit.objects.all(), required=False, allow_null=True,
        help_text="The branch (org unit) it is sold from: its invoice, and the subscription "
        "its plans start with every invoice that one issues, name it in `orgunit`.",
    )  # fmt: skip
    discount = computed_amount()
    amount = computed_amount()
    exempt = computed_amount()
    discount_amount = computed_amount()
    subtotal = computed_amount()
    tax = computed_amount()
    total = computed_amount()
    tax_percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, read_only=True, normalize_output=True
    )

    class Meta:
        model = Order
        fields = [
            "id", "customer", "currency", "document", "status", "items", "coupon", "discount",
            "discount_scheme", "amount", "exempt", "discount_amount", "subtotal", "tax",
            "tax_percent", "total", "note", "billing_cycle", "invoice", "subscription",
            "orgunit", "date", "lines", "address", "state", "carrier_id", "carrier_name",
            "licence_plate", "shipping_type", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["status", "discount_scheme"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # `items` and `lines` fill one list: both sent must agree (a retrieved order PUT
        # back carries both), and a new order needs one of them.
        data = self.initial_data
        if "items" in data and "lines" in data and data["items"] != data["lines"]:
            raise serializers.ValidationError(
                {"lines": ["`lines` is Piriod's name for `items`: send one of them."]}
            )
        if self.instance is None and "items" not in attrs:
            raise serializers.ValidationError({"items": ["Send the order's `items` (or `lines`)."]})
        return attrs


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    # Through the kept plan: an invoice's event is built on every write of it, and DRF
    # binding its fields anew each time cost more than the rest of a finalize.
    return planned_snapshot(InvoiceSerializer, invoice)


def invoice_snapshot_of_save(invoice: Invoice) -> dict[str, Any]:
    """What of an invoice's snapshot its number and its save set (`updated`), as
    InvoiceSerializer shows them: for a snapshot built just before."""
    return {
        "number": invoice.number,
        "updated": serializers.DateTimeField().to_representation(invoice.updated_at),
    }


def note_snapshot(note: CreditNote | DebitNote) -> dict[str, Any]:
    representation = CreditNoteSerializer if isinstance(note, CreditNote) else DebitNoteSerializer
    return snapshot(representation, note)


def order_snapshot(order: Order) -> dict[str, Any]:
    return snapshot(OrderSerializer, order)
