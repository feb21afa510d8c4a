from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet
from customers import services
from customers.api.serializers import CustomerBalanceTransactionSerializer
from customers.filters import ContactFilter, CustomerFilter
from customers.models import Contact, Customer
from customers.representations import ContactSerializer, CustomerSerializer
from customers.selectors import (
    contact_queryset,
    customer_balance_transactions,
    customer_queryset,
    customers_with_aggregations,
)


class CustomerViewSet(TenantModelViewSet):
    queryset = customer_queryset()
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["name", "email", "tax_id", "reference"]
    ordering_fields = ("created", "updated", "name", "email")

    @cached_property
    def now(self) -> datetime:
        """One clock reading per request: the current period of `aggregations` ends here."""
        return self.tenant_now()

    def get_queryset(self) -> QuerySet[Customer]:
        workspace = getattr(self.request, "workspace", None)
        queryset = super().get_queryset()
        if workspace is None:
            return queryset
        return customers_with_aggregations(queryset, now=self.now, timezone=workspace.timezone)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": self.now}

    def create_object(self, data: dict[str, Any]) -> Customer:
        return services.customer_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **data,
        )

    def update_object(self, instance: Customer, data: dict[str, Any]) -> Customer:
        return services.customer_update(customer=instance, **data)

    def perform_destroy(self, instance: Customer) -> None:
        services.customer_delete(customer=instance)

    @extend_schema(request=None, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        customer = services.customer_archive(customer=self.get_object())
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str) -> Response:
        customer = services.customer_unarchive(customer=self.get_object())
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=CustomerBalanceTransactionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def balance_transactions(self, request: Request, pk: str) -> Response:
        """The movements of the customer's credit balance, newest first."""
        entries = customer_balance_transactions(customer=self.get_object())
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(
            CustomerBalanceTransactionSerializer(page, many=True).data
        )


class ContactViewSet(TenantModelViewSet):
    queryset = contact_queryset()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["name", "email"]
    ordering_fields = ("created", "updated", "name")

    def create_object(self, data: dict[str, Any]) -> Contact:
        return services.contact_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **data,
        )

    def update_object(self, instance: Contact, data: dict[str, Any]) -> Contact:
        return services.contact_update(contact=instance, **data)

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(contact=instance)
