from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet
from customers import services
from customers.api.serializers import ContactSerializer, CustomerSerializer
from customers.filters import ContactFilter, CustomerFilter
from customers.models import Contact, Customer
from customers.selectors import contact_queryset, customer_queryset


class CustomerViewSet(TenantModelViewSet):
    queryset = customer_queryset()
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["name", "email", "tax_id", "reference"]
    ordering_fields = ("created", "updated", "name", "email")

    def perform_create(self, serializer: CustomerSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.customer_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **serializer.validated_data,
        )

    def perform_update(self, serializer: CustomerSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.customer_update(
            customer=serializer.instance, **serializer.validated_data
        )

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


class ContactViewSet(TenantModelViewSet):
    queryset = contact_queryset()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["name", "email"]
    ordering_fields = ("created", "updated", "name")

    def perform_create(self, serializer: ContactSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.contact_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **serializer.validated_data,
        )

    def perform_update(self, serializer: ContactSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.contact_update(
            contact=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(contact=instance)
