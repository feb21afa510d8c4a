from rest_framework.routers import SimpleRouter

from metering.api import views

router = SimpleRouter()
router.register("meters", views.MeterViewSet, basename="meter")
router.register("features", views.FeatureViewSet, basename="feature")
router.register("events", views.EventViewSet, basename="usage-event")
router.register("usages", views.UsageRecordViewSet, basename="usage-record")

urlpatterns = router.urls
