from django.urls import path
from rest_framework.routers import SimpleRouter

from payments import hosted
from payments.api import stripe_views, views

router = SimpleRouter()
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("sources", views.SourceViewSet, basename="source")
router.register("payment_gateways", views.PaymentGatewayViewSet, basename="payment-gateway")
router.register("payment_links/links", views.PaymentLinkViewSet, basename="payment-link")
router.register("intents", views.IntentViewSet, basename="intent")

urlpatterns = [
    *router.urls,
    path(
        "webhooks/stripe/<str:workspace_id>/",
        stripe_views.StripeWebhookView.as_view(),
        name="stripe-webhook",
    ),
    path(
        "customers/<str:pk>/setup_intent/",
        stripe_views.CustomerSetupIntentViewSet.as_view({"post": "setup_intent"}),
        name="customer-setup-intent",
    ),
    path(
        "publishable/payment_links/links/<str:key>/",
        views.PublishablePaymentLinkView.as_view(),
        name="payment-link-public",
    ),
    path(
        "publishable/payment_links/links/<str:key>/hosted/",
        hosted.link_checkout,
        name="payment-link-hosted",
    ),
    path(
        "publishable/payment_links/links/<str:key>/hosted/<str:intent_id>/",
        hosted.link_intent,
        name="payment-link-hosted-intent",
    ),
    path(
        "publishable/payments/<str:payment_id>/authorize/",
        views.PublishablePaymentAuthorizeView.as_view(),
        name="payment-publishable-authorize",
    ),
    path(
        "publishable/payments/<str:payment_id>/authenticate/",
        views.PublishablePaymentAuthenticateView.as_view(),
        name="payment-publishable-authenticate",
    ),
    path(
        "publishable/sources/",
        views.PublishableSourceCreateView.as_view(),
        name="source-publishable-create",
    ),
    path(
        "publishable/card_setup/<str:token>/hosted/",
        hosted.card_setup,
        name="card-setup-hosted",
    ),
    path(
        "publishable/intents/<str:secret>/hosted/",
        hosted.intent_checkout,
        name="intent-hosted",
    ),
]
