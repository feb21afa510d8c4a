from rest_framework.routers import SimpleRouter

from procurement.api import views

router = SimpleRouter()
router.register("suppliers", views.SupplierViewSet, basename="supplier")
# Before `purchases`, whose detail route would otherwise take "credit-notes" for an id.
router.register(
    "purchases/credit-notes", views.PurchaseCreditNoteViewSet, basename="purchase-credit-note"
)
router.register("purchases", views.PurchaseViewSet, basename="purchase")
router.register("retentions", views.RetentionViewSet, basename="retention")

urlpatterns = router.urls
