from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import views

router = SimpleRouter()
router.register("workspaces", views.WorkspaceViewSet, basename="workspace")
router.register("cafs", views.FolioRangeViewSet, basename="folio-range")
router.register("folios", views.FolioRangeAliasViewSet, basename="folio-range-alias")
router.register("certificates", views.CertificateViewSet, basename="certificate")
router.register("generals/documents", views.DocumentTypeViewSet, basename="document-type")
router.register("generals/countries", views.CountryViewSet, basename="country")
router.register("generals/states", views.StateViewSet, basename="state")
router.register("generals/comunas", views.ComunaViewSet, basename="comuna")
router.register("generals/currencies", views.CurrencyViewSet, basename="currency")

urlpatterns = [
    path("auth/token/", views.JwtObtainView.as_view(), name="jwt-obtain"),
    path("auth/token/refresh/", views.JwtRefreshView.as_view(), name="jwt-refresh"),
    path("health/", views.HealthView.as_view(), name="health"),
    *router.urls,
]
