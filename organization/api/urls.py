from rest_framework.routers import SimpleRouter

from organization.api import views

router = SimpleRouter()
router.register("orgunits", views.OrgUnitViewSet, basename="orgunit")
router.register("banks", views.BankAccountViewSet, basename="bank")
router.register("billers/built_in", views.BillerViewSet, basename="biller")

urlpatterns = router.urls
