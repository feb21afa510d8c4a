from django.db.models import Prefetch, QuerySet

from invoices.models import Invoice, InvoiceLine


def invoice_queryset() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("document").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id"))
    )
