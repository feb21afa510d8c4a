"""A procurement document submitted to the tax agency is never put back in line for it:
the database refuses it, as it does for invoices and notes (filed_once_constraint)."""

import pytest
from django.db import IntegrityError, transaction

from billing.choices import BillerStatus
from billing.tests.factories import WorkspaceFactory
from procurement.tests.factories import (
    PurchaseCreditNoteFactory,
    PurchaseFactory,
    RetentionFactory,
)

pytestmark = pytest.mark.django_db

FACTORIES = [PurchaseFactory, PurchaseCreditNoteFactory, RetentionFactory]


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("status", [BillerStatus.PENDING, BillerStatus.QUEUED])
def test_a_submitted_document_cannot_be_put_back_in_line(factory, status) -> None:  # type: ignore[no-untyped-def]
    document = factory(workspace=WorkspaceFactory())
    rows = type(document).objects.filter(pk=document.pk)
    rows.update(biller_status=BillerStatus.PROCESSING, tax_agency_tracking_id="4711")

    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update(biller_status=status)
    # In line again it must be without the tracking id (what a retry of a failure does).
    assert rows.update(biller_status=status, tax_agency_tracking_id="") == 1
