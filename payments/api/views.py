from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.errors import ErrorSerializer
from billing.api.viewsets import (
    ApiInputMixin,
    ServiceWriteMixin,
    TenantModelViewSet,
    TenantViewSet,
    TransactionalAPIView,
)
from billing.clock import clock_now_for
from billing.models import Workspace
from payments import selectors, services
from payments.api.serializers import (
    IntentConfirmSerializer,
    PaymentAuthorizeSerializer,
    PaymentGatewaySerializer,
    PaymentLinkPublicSerializer,
    PaymentLinkSerializer,
    PaymentPublicSerializer,
    PaymentRefundSerializer,
    PublishablePaymentAuthenticateSerializer,
    PublishablePaymentAuthorizeSerializer,
    PublishableSourceCreateSerializer,
    SourcePublicSerializer,
    SourceSerializer,
)
from payments.api.throttling import PublishableAddressThrottle, PublishableKeyThrottle
from payments.choices import GatewayKind
from payments.filters import IntentFilter, PaymentFilter, PaymentLinkFilter, SourceFilter
from payments.gateways.base import CardInput
from payments.models import Intent, Payment, PaymentGateway, PaymentLink, Source
from payments.representations import IntentSerializer, PaymentSerializer


class _ReadCreateViewSet(
    ServiceWriteMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    TenantViewSet,
):
    pass


class PaymentViewSet(_ReadCreateViewSet):
    queryset = selectors.payment_queryset()
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    search_fields = ["description", "customer__name"]
    ordering_fields = ("created", "updated", "date", "amount")

    def create_object(self, data: dict[str, Any]) -> Payment:
        invoice = data.pop("invoice", None)
        rows = data.pop("allocations", None) or []
        allocations = [
            services.AllocationRequest(row["invoice"], row.get("amount"), at=f"allocations.{i}")
            for i, row in enumerate(rows)
        ]
        if invoice is not None:
            allocations = [services.AllocationRequest(invoice)]
        return services.payment_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            allocations=allocations,
            now=self.tenant_now(),
            **data,
        )

    @extend_schema(request=PaymentRefundSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def refund(self, request: Request, pk: str) -> Response:
        """Refund all of the payment, or `amount` of it; the invoices owe it again."""
        payment = self.get_object()
        body = PaymentRefundSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        fields = {**body.validated_data, **self.refunded}
        return self._respond(
            services.payment_refund(payment=payment, now=self.tenant_now(), **fields)
        )

    # What the gateway refunded before the transaction opened: amount and reference.
    refunded: dict[str, Any] = {}
    actions_before_transaction = ("refund",)

    def before_transaction(self, request: Request) -> None:
        # The gateway (Stripe) refunds with no transaction open; the refund is then
        # recorded in the request's transaction. If recording fails, Stripe's
        # `charge.refunded` event records it.
        payment = self.get_object()
        body = PaymentRefundSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        if payment.gateway:
            amount, reference = services.payment_refund_at_gateway(
                payment=payment,
                amount=body.validated_data.get("amount"),
                request_key=request.headers.get("Idempotency-Key", ""),
            )
            self.refunded = {"amount": amount, "refunded_at_gateway": reference}

    @extend_schema(request=PaymentAuthorizeSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def authorize(self, request: Request, pk: str) -> Response:
        """Charge a payment waiting for a payment method through `source`."""
        payment = self.get_object()
        body = PaymentAuthorizeSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return self._respond(
            services.payment_authorize(
                payment=payment, source=body.validated_data["source"], now=self.tenant_now()
            )
        )

    @extend_schema(request=None, responses=PaymentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._respond(
            services.payment_cancel_with_intent(payment=self.get_object(), now=self.tenant_now())
        )


class SourceViewSet(_ReadCreateViewSet, mixins.DestroyModelMixin):
    """Cards saved for customers. `card.number` is tokenized in memory by the gateway;
    only the token and the card's brand, last four digits and expiry are stored.
    DELETE retires the source (it is kept for the payments that used it)."""

    queryset = Source.objects.select_related("customer")
    serializer_class = SourceSerializer
    filterset_class = SourceFilter
    search_fields = ["card_brand", "card_last4", "customer__name"]

    def create_object(self, data: dict[str, Any]) -> Source:
        card = CardInput(
            number=data.pop("number"),
            exp_month=data.pop("card_exp_month"),
            exp_year=data.pop("card_exp_year"),
        )
        return services.source_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            card=card,
            now=self.tenant_now(),
            **data,
        )

    def perform_destroy(self, instance: Source) -> None:
        services.source_disable(source=instance)


class PaymentGatewayViewSet(TenantModelViewSet):
    """The workspace's gateways: the built-in sandbox (always listed) and a Stripe
    connection whose secrets are write-only."""

    queryset = PaymentGateway.objects.all()
    serializer_class = PaymentGatewaySerializer
    filterset_fields = ["gateway", "enabled"]
    search_fields = ["gateway"]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.payment_gateways_provision(
            workspace=self.request.workspace, test_mode=self.request.test_mode
        )
        return super().list(request, *args, **kwargs)

    checked_key = ""
    actions_before_transaction = ("create", "update", "partial_update")

    def before_transaction(self, request: Request) -> None:
        # A new Stripe key is checked with Stripe here, with no transaction open.
        fields = request.data
        if not isinstance(fields, dict):
            return
        if self.action == "create":
            if fields.get("gateway") != GatewayKind.STRIPE or self._stripe_connected():
                return  # not Stripe, or the create is refused as a duplicate
            self.checked_key = services.stripe_key_check(
                fields=fields, test_mode=self.request.test_mode
            )
            return
        connection = self.get_object()
        if connection.gateway == GatewayKind.STRIPE:
            self.checked_key = services.stripe_key_check(
                fields=fields, test_mode=connection.test_mode, current_key=connection.secret_key
            )

    def _stripe_connected(self) -> bool:
        return PaymentGateway.objects.filter(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            gateway=GatewayKind.STRIPE,
        ).exists()

    def create_object(self, data: dict[str, Any]) -> PaymentGateway:
        return services.payment_gateway_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            checked_key=self.checked_key,
            **data,
        )

    def update_object(self, instance: PaymentGateway, data: dict[str, Any]) -> PaymentGateway:
        return services.payment_gateway_update(
            connection=instance, now=self.tenant_now(), checked_key=self.checked_key, **data
        )

    def perform_destroy(self, instance: PaymentGateway) -> None:
        services.payment_gateway_delete(gateway=instance)


class PaymentLinkViewSet(_ReadCreateViewSet):
    # The workspace is read for each link's status, judged on its clock.
    queryset = PaymentLink.objects.select_related("workspace", "invoice")
    serializer_class = PaymentLinkSerializer
    filterset_class = PaymentLinkFilter

    def create_object(self, data: dict[str, Any]) -> PaymentLink:
        return services.payment_link_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **data,
        )


class IntentViewSet(_ReadCreateViewSet):
    queryset = Intent.objects.all()
    serializer_class = IntentSerializer
    filterset_class = IntentFilter

    def create_object(self, data: dict[str, Any]) -> Intent:
        return services.intent_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=self.tenant_now(),
            **data,
        )

    # An intent past its expiry is expired, committed, before the request's transaction
    # opens: the refusal (`intent_expired`) rolls that transaction back.
    actions_before_transaction = ("confirm",)

    def before_transaction(self, request: Request) -> None:
        services.intent_refuse_if_expired(intent=self.get_object(), now=self.tenant_now())

    @extend_schema(request=IntentConfirmSerializer, responses=IntentSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """Pay the intent with a saved `source`, the payer present (on-session): a card
        that needs the payer's authentication leaves it waiting, its `redirect_url` the
        page where the payer authenticates. With `off_session: true` (no payer there)
        such a card fails instead."""
        intent = self.get_object()
        body = IntentConfirmSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return self._respond(
            services.intent_confirm(
                intent=intent,
                source=body.validated_data["source"],
                now=self.tenant_now(),
                off_session=body.validated_data["off_session"],
            )
        )

    @extend_schema(request=None, responses=IntentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._respond(
            services.intent_cancel(intent=self.get_object(), now=self.tenant_now())
        )


class PublishablePaymentLinkView(ApiInputMixin, APIView):
    """A payment link's public fields, for anyone holding its publishable key."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses=PaymentLinkPublicSerializer)
    def get(self, request: Request, key: str) -> Response:
        link = get_object_or_404(_public_links(), publishable_key=key)
        return Response(PaymentLinkPublicSerializer(link, context={"request": request}).data)


def _public_links() -> QuerySet[PaymentLink]:
    return PaymentLink.objects.select_related("workspace", "invoice")


class _PublishableView(TransactionalAPIView):
    """No token: the body carries the key the payer was given. A key that opens nothing
    (unknown, another payment's, another workspace's) is a 404, as is a bare id."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [PublishableKeyThrottle, PublishableAddressThrottle]

    def checkout(self, request: Request) -> PaymentLink | Intent | Payment | None:
        """What the request's key opens, or None."""
        raise NotImplementedError

    def takes_idempotency_key(self) -> bool:
        return True

    def idempotency_scope(self, request: Request) -> tuple[Workspace, bool, str] | None:
        # A payer's keys live in the checkout's workspace and mode, apart from the
        # merchant's own; the body (with its secret) is in the fingerprint, so another
        # payer reusing a key gets a 422, never this payer's answer.
        owner = self.checkout(request)
        if owner is None:
            return None
        return owner.workspace, owner.test_mode, "payer:"


_KEY_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No checkout has this key.")
_CHECKOUT_CLOSED = OpenApiResponse(
    ErrorSerializer, description="The checkout is no longer waiting for this (stable `code`)."
)


def _body_text(request: Request, field: str) -> str:
    value = request.data.get(field) if isinstance(request.data, dict) else None
    return value if isinstance(value, str) else ""


def _payer_payment(request: Request, payment_id: str) -> Payment:
    """Found before the body is validated: without its secret, a payment is not there."""
    payment = selectors.payment_for_payer(
        payment_id=payment_id, client_secret=_body_text(request, "client_secret")
    )
    if payment is None:
        raise Http404
    return payment


class _PayerPaymentView(_PublishableView):
    def checkout(self, request: Request) -> Payment | None:
        return selectors.payment_for_payer(
            payment_id=self.kwargs["payment_id"],
            client_secret=_body_text(request, "client_secret"),
        )


def _public_payment(request: Request, payment: Payment) -> Response:
    fresh = Payment.objects.select_related("workspace").get(pk=payment.pk)
    return Response(PaymentPublicSerializer(fresh, context={"request": request}).data)


class PublishablePaymentAuthorizeView(_PayerPaymentView):
    @extend_schema(request=PublishablePaymentAuthorizeSerializer, responses=PaymentPublicSerializer)
    def post(self, request: Request, payment_id: str) -> Response:
        """The payer pays a payment waiting for a payment method, with a sandbox test
        card or a source they may use. A card needing authentication leaves the payment
        `processing` with `requires_authentication` until `authenticate`."""
        payment = _payer_payment(request, payment_id)
        body = PublishablePaymentAuthorizeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        card = data.get("card")
        return _public_payment(
            request,
            services.payment_authorize_by_payer(
                payment=payment,
                card=CardInput(**card) if card is not None else None,
                source_id=data.get("source"),
                now=clock_now_for(payment),
            ),
        )


class PublishablePaymentAuthenticateView(_PayerPaymentView):
    @extend_schema(
        request=PublishablePaymentAuthenticateSerializer,
        responses={200: PaymentPublicSerializer, 409: _CHECKOUT_CLOSED},
    )
    def post(self, request: Request, payment_id: str) -> Response:
        """The payer's answer to the card's authentication step (the sandbox's 3155 card)."""
        payment = _payer_payment(request, payment_id)
        body = PublishablePaymentAuthenticateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _public_payment(
            request,
            services.payment_authenticate_by_payer(
                payment=payment,
                approved=body.validated_data["approved"],
                now=clock_now_for(payment),
            ),
        )


class PublishableSourceCreateView(_PublishableView):
    def checkout(self, request: Request) -> PaymentLink | Intent | Payment | None:
        return selectors.payer_key_owner(key=_body_text(request, "key"))

    @extend_schema(
        request=PublishableSourceCreateSerializer,
        responses={201: SourcePublicSerializer, 404: _KEY_NOT_FOUND, 409: _CHECKOUT_CLOSED},
    )
    def post(self, request: Request) -> Response:
        """A payer saves a sandbox card without a token. `key` is a payment link's
        `publishable_key` or an intent's or a payment's `client_secret`; the source is
        that checkout's customer's (a single-use card when there is none)."""
        body = PublishableSourceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        owner = selectors.payer_key_owner(key=data["key"])
        if owner is None:
            raise Http404
        source = services.source_create_for_payer(
            owner=owner,
            card=CardInput(**data["card"]),
            usage=data["usage"],
            save_consent=data["save_consent"],
            now=clock_now_for(owner),
        )
        return Response(SourcePublicSerializer(source).data, status=201)
