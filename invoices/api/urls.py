from rest_framework.routers import SimpleRouter

from invoices.api import views

router = SimpleRouter()
router.register("invoices", views.InvoiceViewSet, basename="invoice")

urlpatterns = router.urls
