"""Every back-office form over an app that writes through services saves through them:
an admin that would save with model.save() could disagree with the API."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from billing.admin_services import ServiceSaveAdminMixin

# The apps whose writes are services the API calls.
SERVICE_APPS = {
    "catalog",
    "customers",
    "metering",
    "organization",
    "payments",
    "procurement",
    "reminders",
    "subscriptions",
    "webhooks",
}

# Admins of those apps with no service to call, because nothing but the back office
# writes them: the API neither creates nor changes them.
NO_SERVICE = {
    # Honorarios retention rates by the date a law sets them: reference data.
    "procurement.RetentionRate",
}


@pytest.fixture
def request_(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    return request


def service_app_admins():
    return [
        pytest.param(model_admin, id=model._meta.label)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in SERVICE_APPS and model._meta.label not in NO_SERVICE
    ]


@pytest.mark.parametrize("model_admin", service_app_admins())
def test_an_admin_that_writes_saves_through_the_services(model_admin, request_):
    request = request_
    writes = model_admin.has_add_permission(request) or model_admin.has_change_permission(request)

    assert not writes or isinstance(model_admin, ServiceSaveAdminMixin)


@pytest.mark.parametrize("model_admin", service_app_admins())
def test_an_inline_that_writes_is_saved_by_its_admin(model_admin, request_):
    request = request_
    saves_inlines = type(model_admin).save_formset is not admin.ModelAdmin.save_formset
    for inline in model_admin.get_inline_instances(request):
        editable = set(inline.fields or ()) - set(inline.readonly_fields)
        changes = inline.has_change_permission(request, None) and bool(editable)
        writes = inline.has_add_permission(request, None) or changes
        assert not writes or saves_inlines, type(inline).__name__
