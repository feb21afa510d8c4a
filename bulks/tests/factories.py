"""Factories of the bulks app's models."""

from billing.tests.factories import TenantFactory
from bulks.models import Bulk, InvoiceBulk, RetentionBulk


class BulkFactory(TenantFactory):
    class Meta:
        model = Bulk

    kind = "invoices"


class RetentionBulkFactory(BulkFactory):
    kind = "retentions"


FACTORIES: dict[type, type[TenantFactory]] = {
    Bulk: BulkFactory,
    InvoiceBulk: BulkFactory,
    RetentionBulk: RetentionBulkFactory,
}
