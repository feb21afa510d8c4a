from django.urls import path
from rest_framework.routers import SimpleRouter

from subscriptions.api import views

router = SimpleRouter()
router.register("subscriptions", views.SubscriptionViewSet, basename="subscription")

urlpatterns = [
    *router.urls,
    path("test_clock/", views.TestClockView.as_view(), name="test-clock"),
    path("test_clock/jobs/<str:pk>/", views.TestClockJobView.as_view(), name="test-clock-job"),
]
