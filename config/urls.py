from pathlib import Path

import drf_spectacular_sidecar
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


class OpenApiJsonView(SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer]


urlpatterns = [
    path("admin/", admin.site.urls),
    path("openapi.json", OpenApiJsonView.as_view(), name="openapi"),
    path("schema/", OpenApiJsonView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    path("", include("billing.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("invoices.api.urls")),
    path("", include("procurement.api.urls")),
    path("", include("invoices.urls")),
    path("", include("payments.api.urls")),
    path("", include("subscriptions.api.urls")),
]

# The /docs/ viewer's assets (drf-spectacular-sidecar's Swagger UI), served by the app itself
# so that /docs/ works whatever serves the rest of /static/: runserver serves static files
# only with DEBUG, and gunicorn not at all.
SIDECAR_ROOT = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
if not settings.STATIC_URL.startswith(("http://", "https://", "//")):
    urlpatterns.append(
        re_path(
            rf"^{settings.STATIC_URL.strip('/')}/drf_spectacular_sidecar/(?P<path>.+)$",
            serve,
            {"document_root": SIDECAR_ROOT},
        )
    )
