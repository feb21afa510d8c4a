from django.db.models import Prefetch, QuerySet

from customers.models import Contact, Customer


def customer_queryset() -> QuerySet[Customer]:
    """Customers with what their representation reads, in a fixed number of queries."""
    return Customer.objects.select_related("country", "state", "currency").prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.order_by("created_at", "id"))
    )


def contact_queryset() -> QuerySet[Contact]:
    return Contact.objects.all()
