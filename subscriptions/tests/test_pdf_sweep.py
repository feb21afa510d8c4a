"""Invoices a test clock issued ahead of the real time still get their PDFs from the
sweep, which runs on the real clock."""

from datetime import timedelta

import pytest

from billing.clock import real_now
from invoices.models import Invoice
from invoices.pdf import storage
from payments.gateways import sandbox
from payments.services import source_create_sandbox_card
from subscriptions.services.clocks import clock_advance
from subscriptions.tests.helpers import customer_of, plan_of, santiago, subscribe, workspace_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_sweep_finds_test_clock_invoices_dated_in_the_future() -> None:
    # Arrange: a test clock ahead of the real time bills three months, charged to a card
    # (an emailed invoice would have its PDF rendered for the attachment).
    start = santiago(real_now().year + 1, 1, 15, 9, 0)
    workspace = workspace_at(start)
    customer = customer_of(workspace)
    card = source_create_sandbox_card(
        customer=customer, card_number=sandbox.SUCCEEDS, exp_month=12, exp_year=2040, now=start
    )
    subscription = subscribe(
        workspace, start, [(plan_of(workspace), 1)], customer=customer,
        collection_scheme="charge_payment", default_source=card,
    )  # fmt: skip
    clock_advance(workspace=workspace, test_mode=True, now=start, to=start + timedelta(days=62))
    invoices = Invoice.objects.filter(subscription_id=subscription.id)
    assert invoices.count() == 3
    assert all(i.finalized_at > real_now() + timedelta(days=30) for i in invoices)
    assert all(i.status == "paid" and not i.pdf for i in invoices)

    # Act / Assert: not yet (their renders may still be queued), then five minutes of
    # real time later they are found, although their finalized_at is still months away.
    assert storage.documents_pdf_missing(now=real_now(), older_than=timedelta(minutes=5)) == []
    later = real_now() + timedelta(minutes=6)
    found = storage.documents_pdf_missing(now=later, older_than=timedelta(minutes=5))
    assert sorted(found) == sorted(("invoices.Invoice", i.id) for i in invoices)

    # And the render stores them, so the next sweep finds nothing.
    for label, document_id in found:
        assert storage.document_pdf_store(model_label=label, document_id=document_id)
    assert storage.documents_pdf_missing(now=later, older_than=timedelta(minutes=5)) == []
