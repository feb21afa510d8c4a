from rest_framework.routers import SimpleRouter

from catalog.api import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("plans", views.PlanViewSet, basename="plan")
router.register("addons", views.AddOnViewSet, basename="addon")
router.register("coupons", views.CouponViewSet, basename="coupon")
router.register("taxes", views.TaxViewSet, basename="tax")

urlpatterns = router.urls
