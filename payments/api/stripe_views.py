"""Stripe's routes: the inbound webhook and saving a card through Stripe Checkout."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.errors import ErrorSerializer
from billing.api.viewsets import ApiInputMixin, TenantViewSet
from billing.links import public_url
from billing.representations import StrictFieldsMixin
from customers.models import Customer
from payments import services


class StripeWebhookReceivedSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stripe's event id.")
    type = serializers.CharField()
    status = serializers.CharField(help_text="received, processed, ignored or failed.")


class StripeWebhookView(ApiInputMixin, APIView):
    """Stripe calls this with the workspace's events. No token: the `Stripe-Signature`
    header, checked against the connection's webhook secret, is the authentication."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        request=None,
        responses={
            200: StripeWebhookReceivedSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="Bad or stale signature, or not a Stripe event."
            ),
            404: OpenApiResponse(ErrorSerializer, description="No such workspace."),
        },
    )
    def post(self, request: Request, workspace_id: str) -> Response:
        """Store the event (once per Stripe event id) and answer at once; a task applies it."""
        event = services.stripe_event_receive(
            workspace_id=workspace_id,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
        return Response({"id": event.stripe_id, "type": event.type, "status": event.status})


class CardSetupSerializer(StrictFieldsMixin, serializers.Serializer):
    success_url = serializers.URLField(
        max_length=1000, help_text="Where the payer lands once the card is saved."
    )
    cancel_url = serializers.URLField(
        max_length=1000, required=False, help_text="Where the payer lands if they give up."
    )


class CardSetupResponseSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The page where the customer saves a card.")
    gateway = serializers.CharField()


class CustomerSetupIntentViewSet(TenantViewSet):
    queryset = Customer.objects.all()
    serializer_class = CardSetupSerializer
    ordering_fields = ()  # no list

    @extend_schema(
        request=CardSetupSerializer,
        responses={
            200: CardSetupResponseSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="Stripe could not be reached (stable code)."
            ),
        },
    )
    def setup_intent(self, request: Request, pk: str) -> Response:
        """A page where the customer saves a card: Stripe Checkout in setup mode when
        Stripe is connected (the card becomes the customer's default source once Stripe
        reports it, by the webhook, not on the redirect); otherwise our hosted page,
        which takes the sandbox's test cards for an hour."""
        if self.answer is None:  # an expired Idempotency-Key's request, run again
            self.before_transaction(request)
        return Response(self.answer)

    answer: dict[str, str] | None = None
    actions_before_transaction = ("setup_intent",)

    def before_transaction(self, request: Request) -> None:
        # Stripe Checkout's session is made with no transaction open; nothing is written
        # here but the customer's own sync to Stripe, committed on its own.
        customer = self.get_object()
        body = CardSetupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        setup = services.card_setup_start(
            customer=customer,
            success_url=data["success_url"],
            cancel_url=data.get("cancel_url") or data["success_url"],
            now=self.tenant_now(),
        )
        url = setup.url
        if setup.token:
            path = reverse("card-setup-hosted", kwargs={"token": setup.token})
            url = public_url(path)
        self.answer = {"url": url, "gateway": setup.gateway}
