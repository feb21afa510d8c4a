from rest_framework.routers import SimpleRouter

from webhooks.api import views

router = SimpleRouter()
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("events/log", views.EventLogViewSet, basename="event-log")

urlpatterns = router.urls
