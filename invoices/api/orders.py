"""`/orders/`: orders priced by the server; `confirm` (Piriod's `finalize`), then
`invoice` makes the draft invoice; `pdf` prints one. The rules live in
invoices.services.orders."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet
from invoices.api.files import PdfRouteMixin
from invoices.filters import OrderFilter
from invoices.models import Order
from invoices.pdf.render import order_filename, order_pdf_render
from invoices.representations import OrderSerializer
from invoices.selectors import order_queryset
from invoices.services import orders


def _with_coupon(data: dict[str, Any]) -> dict[str, Any]:
    """The body's `coupon` (a code or an id) under the service's name for it."""
    data = dict(data)
    if "coupon_id" in data:
        data["coupon"] = data.pop("coupon_id")
    return data


class OrderViewSet(PdfRouteMixin, TenantModelViewSet):
    queryset = order_queryset()
    actions_without_body = ("confirm", "finalize", "invoice")
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    search_fields = ["note", "customer__name", "customer__tax_id"]
    ordering_fields = ("created", "updated", "total")

    def create_object(self, data: dict[str, Any]) -> Order:
        return orders.order_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **_with_coupon(data),
        )

    def update_object(self, instance: Order, data: dict[str, Any]) -> Order:
        return orders.order_update(
            order=instance,
            now=self.tenant_now(),
            **_with_coupon(data),
        )

    def perform_destroy(self, instance: Order) -> None:
        orders.order_delete(order=instance)

    def pdf_file(self, obj: Order) -> tuple[bytes, str]:
        return order_pdf_render(obj), order_filename(obj)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """draft → confirmed: the order is agreed and no longer changes."""
        return self._respond(orders.order_confirm(order=self.get_object()))

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["get", "post"])
    def finalize(self, request: Request, pk: str) -> Response:
        """Piriod's name for `confirm` (GET is accepted too, as Piriod documents it)."""
        return self._finalize_respond(lambda order: orders.order_confirm(order=order))

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def invoice(self, request: Request, pk: str) -> Response:
        """confirmed → invoiced: create the order's draft invoice and link it (a draft
        order is a 409, order_not_confirmed); an order with plans also starts their
        subscription, whose first period that invoice bills."""
        return self._respond(orders.order_invoice(order=self.get_object(), now=self.tenant_now()))
