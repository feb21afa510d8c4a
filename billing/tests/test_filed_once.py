"""Every fiscal document, of whichever app, is filed with the tax agency once: its table
carries filed_once_constraint, so a document model added later cannot go without it."""

from django.apps import apps
from django.db.models import CheckConstraint

from billing.models import FiscalDocument, filed_once_constraint


def test_every_fiscal_document_table_has_the_filed_once_constraint() -> None:
    documents = [model for model in apps.get_models() if issubclass(model, FiscalDocument)]
    condition = filed_once_constraint("any").condition

    missing = [
        model._meta.label
        for model in documents
        if not any(
            isinstance(constraint, CheckConstraint) and constraint.condition == condition
            for constraint in model._meta.constraints
        )
    ]

    assert len(documents) >= 6  # invoices, credit and debit notes; procurement's three
    assert missing == []
