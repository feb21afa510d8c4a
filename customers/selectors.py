from datetime import datetime

from django.db.models import Prefetch, QuerySet

from customers.models import Contact, Customer, CustomerBalanceTransaction
from invoices.selectors import customer_aggregation_annotations


def customer_queryset() -> QuerySet[Customer]:
    """Customers with what their representation reads, in a fixed number of queries."""
    return Customer.objects.select_related("country", "state", "currency").prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.order_by("created_at", "id"))
    )


def contact_queryset() -> QuerySet[Contact]:
    return Contact.objects.all()


def customer_balance_transactions(*, customer: Customer) -> QuerySet[CustomerBalanceTransaction]:
    """The customer's balance entries, newest first."""
    return CustomerBalanceTransaction.objects.filter(customer=customer).order_by(
        "-created_at", "-id"
    )


def customer_invoice_recipients(*, customer: Customer) -> list[str]:
    """Who receives the customer's documents: its invoicing contacts, or else its own email."""
    contacts = Contact.objects.filter(customer=customer, invoicing=True).exclude(email="")
    unique: dict[str, str] = {}
    for email in contacts.order_by("created_at", "id").values_list("email", flat=True):
        unique.setdefault(email.lower(), email)
    if not unique and customer.email:
        return [customer.email]
    return list(unique.values())


def customers_with_aggregations(
    queryset: QuerySet[Customer], *, now: datetime, timezone: str
) -> QuerySet[Customer]:
    """Customers annotated with their `aggregations` (sales, sales of the month running at
    `now` in `timezone`, balance), computed by invoices in the same query."""
    return queryset.annotate(**customer_aggregation_annotations(now=now, timezone=timezone))
