from rest_framework.routers import SimpleRouter

from bulks.api import views

router = SimpleRouter()
router.register("bulks/invoices", views.InvoiceBulkViewSet, basename="bulk-invoices")
router.register("bulks/retentions", views.RetentionBulkViewSet, basename="bulk-retentions")

urlpatterns = router.urls
