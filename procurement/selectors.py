"""Procurement reads: querysets with what their representations read."""

from django.db.models import Prefetch, QuerySet

from procurement.models import (
    Purchase,
    PurchaseCreditNote,
    PurchaseCreditNoteLine,
    PurchaseLine,
    Retention,
    RetentionLine,
    Supplier,
)


def supplier_queryset() -> QuerySet[Supplier]:
    # The representation shows the codes of these three; joined, a page is one query.
    return Supplier.objects.select_related("country", "state", "currency")


def purchase_queryset() -> QuerySet[Purchase]:
    return Purchase.objects.select_related("document").prefetch_related(
        Prefetch("lines", queryset=PurchaseLine.objects.order_by("position", "id"))
    )


def purchase_credit_note_queryset() -> QuerySet[PurchaseCreditNote]:
    return PurchaseCreditNote.objects.select_related("document").prefetch_related(
        Prefetch("lines", queryset=PurchaseCreditNoteLine.objects.order_by("position", "id"))
    )


def retention_queryset() -> QuerySet[Retention]:
    return Retention.objects.select_related("document").prefetch_related(
        Prefetch("lines", queryset=RetentionLine.objects.order_by("position", "id"))
    )
