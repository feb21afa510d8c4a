"""Columns the schedulers own (the test clock, queue claims, attention marks) are never
editable in the back office, on any model."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

pytestmark = pytest.mark.django_db

SCHEDULING = {"test_clock_at", "enqueued_at", "needs_attention_at"}


def scheduling_fields(model):
    names = {field.name for field in model._meta.fields}
    return {name for name in names if name in SCHEDULING or name.endswith("_enqueued_at")}


def test_no_admin_form_edits_a_scheduling_field(admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    editable = {}
    for model, model_admin in admin.site._registry.items():
        owned = scheduling_fields(model)
        if not owned:
            continue
        instance = model()
        if not model_admin.has_change_permission(request, instance):
            continue  # a view only
        form = model_admin.get_form(request, instance, change=True)
        if owned & set(form.base_fields):
            editable[model.__name__] = sorted(owned & set(form.base_fields))

    assert editable == {}
