"""Payment reads: querysets with what their representations read, in a fixed number of
queries."""

from django.db.models import Prefetch, QuerySet

from payments.models import Payment, PaymentAllocation, Refund


def payment_queryset() -> QuerySet[Payment]:
    return Payment.objects.select_related("currency").prefetch_related(
        Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("invoice")),
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")),
    )
