"""What customers look like to the outside: API responses and event payloads."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.clock import clock_now
from billing.models import Country, Currency, State
from billing.representations import CodeField, ComunaField, TenantModelSerializer, snapshot
from customers.models import Contact, Customer
from customers.selectors import customer_aggregations, customer_annotation_values


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "integer"}],
        "description": "The state's ISO 3166-2 code (`CL-RM`, `US-CA`) or its integer id, "
        "as `/generals/states/` lists them; shown as the code.",
    }
)
class StateField(CodeField):
    """A state by its code or by the integer id Piriod's clients send (State.number)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", State.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and data.strip().isdecimal():
            data = int(data)
        if isinstance(data, int) and not isinstance(data, bool):
            state = State.objects.filter(number=data).first()
            if state is None:
                self.fail("does_not_exist", slug_name="id", value=data)
            return state
        return super().to_internal_value(data)


class ContactSerializer(TenantModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "customer",
            "orgunit",
            "name",
            "email",
            "phone",
            "invoicing",
            "collections",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]


class CustomerContactSerializer(serializers.ModelSerializer):
    """A contact as shown inside its customer."""

    class Meta:
        model = Contact
        fields = ["id", "name", "email", "phone", "invoicing", "collections"]
        read_only_fields = fields


def aggregation_amount() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=24, decimal_places=6, read_only=True, normalize_output=True
    )


class CustomerAggregationsSerializer(serializers.Serializer):
    """Money the customer has been billed, as decimal strings in the customer's currency.

    `sales`: totals of finalized and paid invoices, less their finalized credit notes,
    plus their finalized debit notes; `sales_current_period`: the same for documents
    dated in the current calendar month of the workspace's timezone; `balance`: the
    amount due of finalized, pending and uncollectible invoices, less `credit_balance`;
    `credit_balance`: the credit the customer holds with us (credit notes beyond what an
    invoice still owed and payments beyond what their invoices owed, less what was
    refunded), its entries at
    `/customers/{id}/balance_transactions/`.
    """

    sales = aggregation_amount()
    sales_current_period = aggregation_amount()
    balance = aggregation_amount()
    credit_balance = aggregation_amount()

    def to_representation(self, instance: Customer) -> dict[str, Any]:
        now, timezone = _now_and_timezone(self.context, instance)
        aggregations = customer_aggregations(customer=instance, now=now, timezone=timezone)
        return super().to_representation(aggregations)


def _now_and_timezone(context: Mapping[str, Any], customer: Customer) -> tuple[datetime, str]:
    """The time the representation is read at (the view's, else the workspace's clock) and
    the workspace's timezone."""
    request = context.get("request")
    workspace = getattr(request, "workspace", None) or customer.workspace
    now = context.get("now") or clock_now(workspace=workspace, test_mode=customer.test_mode)
    return now, workspace.timezone


class CustomerSourceSerializer(serializers.Serializer):
    """A saved card of the customer, as its gateway token's display fields."""

    id = serializers.CharField(read_only=True)
    gateway = serializers.CharField(read_only=True)
    usage = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    brand = serializers.CharField(read_only=True)
    last4 = serializers.CharField(read_only=True)
    exp_month = serializers.IntegerField(read_only=True, allow_null=True)
    exp_year = serializers.IntegerField(read_only=True, allow_null=True)


def customer_sources(customer: Customer, *, now: datetime, timezone: str) -> list[dict[str, Any]]:
    """Read from the customer list's own query when annotated (payments registers the
    annotation, `payment_sources`)."""
    rows = customer_annotation_values(customer, ["payment_sources"], now=now, timezone=timezone)[
        "payment_sources"
    ]
    rows = sorted(rows, key=lambda row: (row["created"], row["id"]))
    for row in rows:
        for name in ("exp_month", "exp_year"):
            row[name] = int(row[name]) if row[name] is not None else None
    return list(CustomerSourceSerializer(rows, many=True).data)


class CustomerSerializer(TenantModelSerializer):
    # With its currency, which a new customer takes by default.
    country = CodeField(queryset=Country.objects.select_related("currency"))
    state = StateField(required=False, allow_null=True)
    comuna = ComunaField(
        required=False,
        allow_null=True,
        help_text="A Chilean customer's comuna, by its code as text or a number (13101 "
        'Santiago, 5101 or "05101" Valparaíso; /generals/comunas/). Optional; it sets '
        "`state` to its region.",
    )
    currency = CodeField(queryset=Currency.objects.all(), required=False)
    reference = serializers.CharField(
        max_length=64, required=False, allow_null=True, allow_blank=False
    )
    tax_settings = serializers.DictField(required=False)
    contacts = CustomerContactSerializer(many=True, read_only=True)
    aggregations = CustomerAggregationsSerializer(source="*", read_only=True)
    sources = serializers.SerializerMethodField(
        help_text="The cards the customer can be charged with (deleted ones are left out)."
    )

    @extend_schema_field(CustomerSourceSerializer(many=True))
    def get_sources(self, customer: Customer) -> list[dict[str, Any]]:
        now, timezone = _now_and_timezone(self.context, customer)
        return customer_sources(customer, now=now, timezone=timezone)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "address",
            "country",
            "state",
            "comuna",
            "currency",
            "email",
            "phone",
            "website",
            "zip_code",
            "manager",
            "reference",
            "tax_id",
            "tax_settings",
            "send_invoices",
            "send_collections",
            "send_vouchers",
            "status",
            "stripe_id",
            "stripe_sync_status",
            "stripe_synced_at",
            "contacts",
            "sources",
            "aggregations",
            "metadata",
            "test_mode",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "stripe_id", "stripe_sync_status", "stripe_synced_at"]
        # Uniqueness of `reference` is a service rule (scoped to the tenant).
        validators: list[Any] = []

    read_only_set_by: ClassVar[dict[str, str]] = {
        "status": "The status changes with the archive and unarchive actions.",
    }


def customer_snapshot(customer: Customer, *, now: datetime | None = None) -> dict[str, Any]:
    """`now`: the time its aggregations were read at, when they were loaded already."""
    return snapshot(CustomerSerializer, customer, context={"now": now} if now else None)


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    return snapshot(ContactSerializer, contact)
