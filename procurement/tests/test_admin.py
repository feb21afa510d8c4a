"""G11 in the back-office: finalized procurement documents are read-only views."""

import datetime

import pytest
from django.urls import reverse

from procurement.models import Purchase
from procurement.services.purchases import purchase_finalize
from procurement.services.retentions import retention_finalize
from procurement.tests.factories import PurchaseFactory, RetentionFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("factory", "finalize"),
    [
        (PurchaseFactory, lambda d: purchase_finalize(purchase=d, now=NOW)),
        (RetentionFactory, lambda d: retention_finalize(retention=d, now=NOW)),
    ],
)
def test_finalized_documents_cannot_be_changed_or_deleted(admin_client, factory, finalize):
    document = finalize(factory())
    opts = document._meta
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[document.pk])
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[document.pk])

    view = admin_client.get(change)
    posted = admin_client.post(change, {"note": "edited"})
    deleted = admin_client.post(delete, {"post": "yes"})

    assert view.status_code == 200
    assert b'name="note"' not in view.content  # shown, not editable
    assert posted.status_code == 403
    assert deleted.status_code == 403
    document.refresh_from_db()
    assert document.note == ""


def test_a_draft_shows_its_editable_fields(admin_client):
    retention = RetentionFactory()
    change = reverse("admin:procurement_retention_change", args=[retention.pk])

    response = admin_client.get(change)

    assert response.status_code == 200
    assert b'name="note"' in response.content
    assert b'name="date"' in response.content
    assert Purchase.objects.count() == 0
