from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.viewsets import TenantModelViewSet, TenantViewSet
from webhooks import services
from webhooks.api.serializers import (
    DeliverySerializer,
    EventLogSerializer,
    RedeliverSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)
from webhooks.filters import EventLogFilter, WebhookEndpointFilter
from webhooks.models import WebhookEndpoint
from webhooks.selectors import endpoint_queryset, event_log_queryset


class WebhookEndpointViewSet(TenantModelViewSet):
    queryset = endpoint_queryset()
    serializer_class = WebhookEndpointSerializer
    filterset_class = WebhookEndpointFilter
    search_fields = ["url", "description"]

    @extend_schema(responses={201: WebhookEndpointWithSecretSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            **serializer.validated_data,
        )
        return Response(self._with_secret(endpoint), status=201)

    def update_object(self, instance: WebhookEndpoint, data: dict[str, Any]) -> WebhookEndpoint:
        return services.endpoint_update(endpoint=instance, now=timezone.now(), **data)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=instance)

    @extend_schema(request=None, responses=WebhookEndpointWithSecretSerializer)
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request: Request, pk: str) -> Response:
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object(), now=timezone.now())
        return Response(self._with_secret(endpoint))

    @extend_schema(request=None, responses=WebhookEndpointSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str) -> Response:
        endpoint = services.endpoint_enable(endpoint=self.get_object(), now=timezone.now())
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(request=None, responses=WebhookEndpointSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str) -> Response:
        endpoint = services.endpoint_disable(endpoint=self.get_object())
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        delivery = services.endpoint_test(endpoint=self.get_object(), now=timezone.now())
        return Response(DeliverySerializer(delivery).data, status=202)

    def _with_secret(self, endpoint: WebhookEndpoint) -> dict:
        return WebhookEndpointWithSecretSerializer(
            endpoint, context=self.get_serializer_context()
        ).data


class EventLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Every domain event, with its webhook deliveries and their attempts."""

    queryset = event_log_queryset()
    serializer_class = EventLogSerializer
    filterset_class = EventLogFilter
    ordering_fields = ("created",)  # an event is never updated
    # Events recorded together share a timestamp: each object's follow its sequence.
    ordering = ("-created_at", "-sequence", "-id")
    ordering_ties = ("sequence",)
    search_fields = ["type", "object_id"]

    @extend_schema(request=RedeliverSerializer, responses={202: EventLogSerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str) -> Response:
        event = self.get_object()
        serializer = RedeliverSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        services.event_redeliver(
            event=event, now=timezone.now(), endpoint=serializer.validated_data.get("endpoint")
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=event.pk)).data, status=202)
