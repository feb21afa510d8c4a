"""Append-only records cannot be deleted in the back office; a CAF only while none of
its folios was issued, a certificate only once it has expired."""

import datetime

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from billing.models import Certificate, Event, FolioRange, NumberSequence
from billing.tests.factories import CertificateFactory, FolioRangeFactory
from bulks.models import Bulk
from reminders.models import ReminderMessage
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Event, Delivery, Bulk, ReminderMessage])
def test_append_only_records_have_no_delete(admin_user, model):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = admin_user

    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def delete(client, obj):
    opts = obj._meta
    return client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]),
        {"post": "yes"},
    )


def bulk_delete(client, obj):
    opts = obj._meta
    return client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )


def test_a_caf_with_issued_folios_is_not_deleted(admin_client, tenant):
    caf = FolioRangeFactory(workspace=tenant.workspace)
    NumberSequence.objects.create(
        workspace=tenant.workspace, test_mode=False, document_type_id=33, last_number=caf.first
    )

    assert delete(admin_client, caf).status_code == 403
    assert bulk_delete(admin_client, caf).status_code == 200  # the page naming the reason
    assert FolioRange.objects.filter(pk=caf.pk).exists()


def test_a_caf_none_of_whose_folios_was_issued_can_be_deleted(admin_client, tenant):
    caf = FolioRangeFactory(workspace=tenant.workspace)

    assert delete(admin_client, caf).status_code == 302
    assert not FolioRange.objects.filter(pk=caf.pk).exists()


def test_only_an_expired_certificate_can_be_deleted(admin_client, tenant):
    valid = CertificateFactory(workspace=tenant.workspace)
    expired = CertificateFactory(
        workspace=tenant.workspace,
        not_after_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
    )

    assert delete(admin_client, valid).status_code == 403
    assert bulk_delete(admin_client, valid).status_code == 200
    assert delete(admin_client, expired).status_code == 302
    assert list(Certificate.objects.filter(pk__in=[valid.pk, expired.pk])) == [valid]
