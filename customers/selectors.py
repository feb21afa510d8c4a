from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    PROTECT,
    Expression,
    ForeignObjectRel,
    Prefetch,
    QuerySet,
    Sum,
    prefetch_related_objects,
)

from customers.models import Contact, Customer, CustomerBalanceTransaction

# What apps on higher floors add to the customers the API reads, in the customer's own
# query: invoices its aggregations (sales, balance), payments its saved cards. Customers
# never imports them; each registers its annotations once the apps are ready (its
# apps.py). An annotator takes `now` and the workspace's `timezone` and returns
# annotations by name.
# With it, an app may say what its annotations read for a customer that nothing refers to
# yet (one just created), so a create reads none of them.
CustomerAnnotator = Callable[..., dict[str, Expression]]
_ANNOTATORS: dict[str, CustomerAnnotator] = {}
_NEW_CUSTOMER_VALUES: dict[str, dict[str, Any] | None] = {}


def customer_annotations_register(
    app: str, annotator: CustomerAnnotator, *, new_customer: dict[str, Any] | None = None
) -> None:
    _ANNOTATORS[app] = annotator
    _NEW_CUSTOMER_VALUES[app] = new_customer


def customer_annotations(*, now: datetime, timezone: str) -> dict[str, Expression]:
    annotations: dict[str, Expression] = {}
    for annotator in _ANNOTATORS.values():
        annotations.update(annotator(now=now, timezone=timezone))
    return annotations


def customer_annotation_values(
    customer: Customer, names: Sequence[str], *, now: datetime, timezone: str
) -> dict[str, Any]:
    """The customer's annotations `names`: as read with the customer (a list reads them in
    its own query), otherwise with one query."""
    values = {name: customer.__dict__.get(name) for name in names}
    if all(value is not None for value in values.values()):
        return values
    wanted = {
        name: expression
        for name, expression in customer_annotations(now=now, timezone=timezone).items()
        if name in names
    }
    return Customer.objects.filter(pk=customer.pk).annotate(**wanted).values(*names).get()


def customer_load_annotations(
    customer: Customer, *, now: datetime, timezone: str, created: bool = False
) -> None:
    """Read every annotation of the customer (and its contacts) once, onto the customer,
    so that its event and its response read none again: for a customer `created` in this
    transaction, from what the apps registered for it, else in one query."""
    if created and all(values is not None for values in _NEW_CUSTOMER_VALUES.values()):
        for values in _NEW_CUSTOMER_VALUES.values():
            customer.__dict__.update(values or {})
        customer._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "contacts": Contact.objects.none()
        }
        return
    annotations = customer_annotations(now=now, timezone=timezone)
    row = Customer.objects.filter(pk=customer.pk).annotate(**annotations)
    customer.__dict__.update(row.values(*annotations).get())
    prefetch_related_objects([customer], _contacts_prefetch())


def _contacts_prefetch() -> Prefetch:
    return Prefetch("contacts", queryset=Contact.objects.order_by("created_at", "id"))


def customer_queryset() -> QuerySet[Customer]:
    """Customers with what their representation reads, in a fixed number of queries."""
    return Customer.objects.select_related("country", "state", "currency").prefetch_related(
        _contacts_prefetch()
    )


def contact_queryset() -> QuerySet[Contact]:
    return Contact.objects.all()


def customer_balance_unapplied(*, source_ids: Collection[str]) -> Decimal:
    """The credit that the entries of these sources (a payment and its refunds) still hold
    apart from any invoice: a payment's excess less what refunds paid back of it."""
    summed = CustomerBalanceTransaction.objects.filter(
        invoice_id="", source_id__in=list(source_ids)
    ).aggregate(total=Sum("amount"))["total"]
    return Decimal(summed or 0)


def customer_balance_transactions(*, customer: Customer) -> QuerySet[CustomerBalanceTransaction]:
    """The customer's balance entries, newest first."""
    return CustomerBalanceTransaction.objects.filter(customer=customer).order_by(
        "-created_at", "-id"
    )


def customer_has_documents(*, customer: Customer) -> bool:
    """Whether anything keeps the customer from being deleted: every app's documents,
    payments and balance entries refer to it with PROTECT. Found through those relations,
    so customers imports none of those apps and a new kind of document counts too."""
    return any(
        relation.related_model._default_manager.filter(**{relation.field.name: customer}).exists()
        for relation in Customer._meta.get_fields(include_hidden=True)
        if isinstance(relation, ForeignObjectRel) and relation.on_delete is PROTECT
    )


def _contact_recipients(customer: Customer, role: str) -> list[str]:
    """The emails of the customer's contacts with `role` (a Contact flag), each mailbox
    once however its contacts spell it, or else the customer's own email."""
    contacts = Contact.objects.filter(customer=customer, **{role: True}).exclude(email="")
    unique: dict[str, str] = {}
    for email in contacts.order_by("created_at", "id").values_list("email", flat=True):
        unique.setdefault(email.lower(), email)
    if not unique and customer.email:
        return [customer.email]
    return list(unique.values())


def customer_invoice_recipients(*, customer: Customer) -> list[str]:
    """Who receives the customer's documents: its invoicing contacts, or else its own email."""
    return _contact_recipients(customer, "invoicing")


def customer_collection_recipients(*, customer: Customer) -> list[str]:
    """Who is reminded of what the customer owes: its collections contacts, or else its own
    email; no one when the customer opted out of collection emails."""
    if not customer.send_collections:
        return []
    return _contact_recipients(customer, "collections")


def customers_with_aggregations(
    queryset: QuerySet[Customer], *, now: datetime, timezone: str
) -> QuerySet[Customer]:
    """Customers annotated with their `aggregations` (sales, sales of the month running at
    `now` in `timezone`, balance) and saved cards, computed by the apps that own them in
    the same query."""
    return queryset.annotate(**customer_annotations(now=now, timezone=timezone))


@dataclass(frozen=True)
class CustomerAggregations:
    sales: Decimal
    sales_current_period: Decimal
    balance: Decimal
    credit_balance: Decimal


_AGGREGATION_NAMES = {
    "aggregation_sales": "sales",
    "aggregation_sales_current_period": "sales_current_period",
    "aggregation_balance": "balance",
    "aggregation_credit_balance": "credit_balance",
}


def customer_aggregations(
    *, customer: Customer, now: datetime, timezone: str
) -> CustomerAggregations:
    """The customer's aggregations: from the annotations when the customer was read with
    them, otherwise with one query."""
    values = customer_annotation_values(
        customer, list(_AGGREGATION_NAMES), now=now, timezone=timezone
    )
    return CustomerAggregations(
        **{attribute: Decimal(values[name]) for name, attribute in _AGGREGATION_NAMES.items()}
    )
