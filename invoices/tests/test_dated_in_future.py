"""The SII refuses a DTE dated after the day it receives it (rules.md §5: the agency checks
dates): finalize refuses such a document before it takes a folio."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.clock import workspace_today
from billing.models import Event, NumberSequence
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, Invoice

pytestmark = pytest.mark.django_db


def test_a_document_dated_after_today_does_not_finalize_nor_take_a_folio(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    today = workspace_today(tenant.workspace, timezone.now())
    body = {"customer": customer.id, "document": 33, "lines": [{"name": "Plan", "amount": 1000}]}
    later = tenant.client.post(
        "/invoices/", {**body, "date": (today + timedelta(days=3)).isoformat()}, format="json"
    ).json()

    refused = tenant.client.post(f"/invoices/{later['id']}/finalize/")

    assert refused.status_code == 400, refused.json()
    assert refused.json()["code"] == "document_dated_in_future"
    assert Invoice.objects.get(pk=later["id"]).number is None
    assert not NumberSequence.objects.filter(last_number__gt=0).exists()
    assert not Event.objects.filter(type="invoice.finalized").exists()
    # Dated today, it finalizes with the folio nobody took.
    tenant.client.patch(f"/invoices/{later['id']}/", {"date": today.isoformat()}, format="json")
    assert tenant.client.post(f"/invoices/{later['id']}/finalize/").json()["number"] == 1


def test_a_credit_note_dated_after_today_does_not_finalize(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    invoice = tenant.client.post(
        "/invoices/",
        {
            "customer": customer.id,
            "document": 33,
            "date": workspace_today(tenant.workspace, timezone.now()).isoformat(),
            "lines": [{"name": "Plan", "amount": 1000}],
        },
        format="json",
    ).json()
    tenant.client.post(f"/invoices/{invoice['id']}/finalize/")
    tomorrow = workspace_today(tenant.workspace, timezone.now()) + timedelta(days=2)
    note = tenant.client.post(
        "/creditnotes/",
        {"invoice": invoice["id"], "reason": 1, "date": tomorrow.isoformat()},
        format="json",
    )
    assert note.status_code == 201, note.json()
    note = note.json()

    refused = tenant.client.post(f"/creditnotes/{note['id']}/finalize/")

    assert refused.status_code == 400, refused.json()
    assert refused.json()["code"] == "document_dated_in_future"
    assert CreditNote.objects.get(pk=note["id"]).number is None
