from django.contrib import admin
from django.urls import path, re_path
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing.api.views import NOT_FOUND_ROUTE, not_found
from billing.routing import routes
from config.dashboard import dashboard


class OpenApiJsonView(SpectacularAPIView):
    # application/json first: what tools ask for (`Accept: application/json` was a 406)
    # and what every other answer of the API is; the OpenAPI media type when asked for.
    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer]


urlpatterns = [
    routes(
        # Before the admin's own URLs, which would read "dashboard" as an app label.
        path("admin/dashboard/", dashboard, name="admin-dashboard"),
        path("admin/", admin.site.urls),
        path("openapi.json", OpenApiJsonView.as_view(), name="openapi"),
        path("schema/", OpenApiJsonView.as_view(), name="schema"),
        path("docs/", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
        "billing.api.urls",
        "customers.api.urls",
        "catalog.api.urls",
        "webhooks.api.urls",
        "organization.api.urls",
        "invoices.api.urls",
        "procurement.api.urls",
        "invoices.urls",
        "payments.api.urls",
        "subscriptions.api.urls",
        "bulks.api.urls",
        "reminders.api.urls",
        "metering.api.urls",
        # Last: any other path is a JSON 404 (the admin answers its own paths).
        re_path(r"^(?!admin/)", not_found, name=NOT_FOUND_ROUTE),
    ),
]

handler400 = "billing.api.views.bad_request"
handler500 = "billing.api.views.server_error"
