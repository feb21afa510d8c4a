"""`/orders/`: orders priced by the server; `confirm`, then `invoice` makes the draft
invoice. The rules live in invoices.services.orders."""

from decimal import Decimal
from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.representations import StrictFieldsMixin, TenantModelSerializer
from billing.api.viewsets import TenantModelViewSet
from billing.models import Currency, DocumentType
from invoices.api.serializers import amount_field, computed_amount
from invoices.filters import OrderFilter
from invoices.models import Order, OrderItem
from invoices.selectors import order_queryset
from invoices.services import orders


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
    quantity = serializers.DecimalField(
        max_digits=18, decimal_places=6, min_value=Decimal(0), default=Decimal(1)
    )
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
    currency = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Currency.objects.all(),
        required=False,
        help_text="Defaults to the customer's currency, the one its invoices are issued in.",
    )
    document = serializers.PrimaryKeyRelatedField(
        queryset=DocumentType.objects.all(),
        required=False,
        help_text="The invoice type the order produces; defaults to the workspace "
        "country's main invoice type (33 in Chile).",
    )
    items = OrderItemSerializer(many=True, allow_empty=False)
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
            "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["status", "discount_scheme"]


def _with_coupon(data: dict[str, Any]) -> dict[str, Any]:
    """The body's `coupon` (a code or an id) under the service's name for it."""
    data = dict(data)
    if "coupon_id" in data:
        data["coupon"] = data.pop("coupon_id")
    return data


class OrderViewSet(TenantModelViewSet):
    queryset = order_queryset()
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    search_fields = ["note", "customer__name", "customer__tax_id"]
    ordering_fields = ("created", "updated", "total")

    def perform_create(self, serializer: OrderSerializer) -> None:  # type: ignore[override]
        serializer.instance = orders.order_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **_with_coupon(serializer.validated_data),
        )

    def perform_update(self, serializer: OrderSerializer) -> None:  # type: ignore[override]
        serializer.instance = orders.order_update(
            order=cast(Order, serializer.instance),
            now=self.tenant_now(),
            **_with_coupon(serializer.validated_data),
        )

    def perform_destroy(self, instance: Order) -> None:
        orders.order_delete(order=instance)

    def _respond(self, order: Order) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=order.pk)).data)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """draft → confirmed: the order is agreed and no longer changes."""
        return self._respond(orders.order_confirm(order=self.get_object()))

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def invoice(self, request: Request, pk: str) -> Response:
        """Create the order's draft invoice (from a draft or confirmed order) and link it;
        an order with plans also starts their subscription, whose first period that
        invoice bills."""
        return self._respond(orders.order_invoice(order=self.get_object(), now=self.tenant_now()))
