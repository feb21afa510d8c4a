"""Customer and contact writes. Each is atomic and records its domain event."""

from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Value

from billing.addresses import comuna_errors
from billing.clock import clock_now
from billing.db import recoverable_atomic, service_atomic, unique_field_errors, unique_taken
from billing.errors import DomainError, InvalidInput
from billing.models import Country, Currency, State, Workspace
from billing.services.events import event_record
from billing.tax_ids import InvalidTaxId, normalize_tax_id
from billing.tax_settings import tax_settings_errors
from customers.choices import (
    CONTACTS_PER_CUSTOMER,
    CUSTOMER_TRANSITIONS,
    CustomerStatus,
    StripeSyncStatus,
)
from customers.models import (
    CUSTOMER_ID_PREFIX,
    Contact,
    Customer,
    CustomerBalanceTransaction,
    FormerReference,
)
from customers.representations import contact_snapshot, customer_snapshot
from customers.selectors import customer_has_documents, customer_load_annotations
from organization.models import OrgUnit


def customer_validate(
    workspace: Workspace, customer: Customer, *, tax_settings_written: bool = True
) -> None:
    """Rules that depend on several fields; the serializer has checked each field alone.
    `tax_settings` is checked when written: one stored before its rules stays until it
    changes."""
    country: Country = customer.country
    errors: dict[str, list[str]] = {}
    if customer.tax_id:
        try:
            customer.tax_id = normalize_tax_id(country.code, customer.tax_id)
        except InvalidTaxId as exc:
            errors["tax_id"] = [str(exc)]
    elif country.has_tax_regulation and country.code == workspace.country_id:
        errors["tax_id"] = [
            f"Required for customers in {country.name} ({country.tax_id_name or 'tax id'})."
        ]
    state: State | None = customer.state
    if state is not None and state.country_id != country.code:
        errors["state"] = [f"State {state.code} is not in {country.code}."]
    else:
        errors |= comuna_errors(customer)
    if tax_settings_written:
        errors |= tax_settings_errors(customer.tax_settings)
    if errors:
        raise InvalidInput(errors)


def check_currency_change(customer: Customer, currency: Currency) -> None:
    """A customer's documents are in its currency, and its aggregations (balance, sales)
    read only that currency: once it has any, the currency stays, as in Stripe."""
    if currency.pk != customer.currency_id and customer_has_documents(customer=customer):
        raise DomainError(
            "customer_has_documents",
            f"Customer {customer.pk} has documents in {customer.currency_id}; its currency "
            "cannot change. Create a customer in the other currency instead.",
        )


def _save(customer: Customer) -> None:
    try:
        with recoverable_atomic():
            customer.save()
    except IntegrityError as exc:
        # The reference was taken by a concurrent request after validation looked, or,
        # on a create, before: the unique constraint is the check there. Answered here
        # too, not only by the API, for the import command.
        errors = unique_field_errors(exc)
        if errors is None:
            raise
        raise InvalidInput(errors) from exc


def _check_reference_shape(reference: str | None) -> None:
    """A reference shaped as our ids could name another customer, or one created later:
    events and usage name a customer by either, so one key would name two."""
    if reference is not None and reference.startswith(CUSTOMER_ID_PREFIX):
        raise InvalidInput(
            {
                "reference": [
                    f"A reference may not start with {CUSTOMER_ID_PREFIX}, as our customer ids do."
                ]
            }
        )


def _check_reference_free(customer: Customer) -> None:
    """The reference is neither another customer's nor one another customer had (its usage
    events still name that one by it): one query, a create's budget being a handful."""
    if customer.reference is None:
        return
    tenant = {"workspace": customer.workspace, "test_mode": customer.test_mode}
    current = (
        Customer.objects.filter(**tenant, reference=customer.reference)
        .exclude(pk=customer.pk)
        # A compound statement's parts may not be ordered on SQLite: the models' default
        # ordering is dropped (a UNION is unordered anyway).
        .order_by()
        .annotate(kind=Value("current"))
        .values_list("kind", "id")
    )
    former = (
        FormerReference.objects.filter(**tenant, reference=customer.reference)
        .exclude(customer_id=customer.pk)
        .order_by()
        .annotate(kind=Value("former"))
        .values_list("kind", "customer_id")
    )
    holders = dict(current.union(former))
    if "current" in holders:
        raise InvalidInput({"reference": [unique_taken(Customer, "reference")]})
    if "former" in holders:
        holder = f"Customer {holders['former']}" if holders["former"] else "A deleted customer"
        raise InvalidInput(
            {"reference": [f"{holder} had this reference: its usage events still name it by it."]}
        )


def _keep_former_reference(customer: Customer, former: str | None) -> None:
    if former is None:
        return
    FormerReference.objects.get_or_create(
        workspace=customer.workspace,
        test_mode=customer.test_mode,
        reference=former,
        defaults={"customer": customer},
    )


class CustomerFields(TypedDict, total=False):
    """What a customer's create or update may set (CustomerSerializer's writable fields)."""

    name: str
    address: str
    country: Country
    state: State | None
    currency: Currency | None
    email: str
    phone: str
    website: str
    zip_code: str
    manager: str
    reference: str | None
    tax_id: str
    tax_settings: dict[str, Any]
    send_invoices: bool
    send_collections: bool
    send_vouchers: bool
    metadata: dict[str, Any]


@service_atomic
def customer_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[CustomerFields]
) -> Customer:
    """The customer is returned with what its representation reads (aggregations, saved
    cards, contacts) loaded, as its event showed it."""
    if fields.get("currency") is None:
        fields["currency"] = fields["country"].currency
    _check_reference_shape(fields.get("reference"))
    customer = Customer(workspace=workspace, test_mode=test_mode, **fields)
    customer_validate(workspace, customer)
    _check_reference_free(customer)
    _save(customer)
    now = clock_now(workspace=workspace, test_mode=test_mode)
    customer_load_annotations(customer, now=now, timezone=workspace.timezone, created=True)
    event_record(
        workspace=workspace,
        test_mode=test_mode,
        type="customer.created",
        object_id=customer.id,
        data=customer_snapshot(customer, now=now),
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **fields: Unpack[CustomerFields]) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    former = customer.reference
    currency = fields.get("currency")
    if currency is not None:
        check_currency_change(customer, currency)
    if fields.get("reference", customer.reference) != customer.reference:
        # One stored before the rule stays until it changes.
        _check_reference_shape(fields.get("reference"))
    for name, value in fields.items():
        setattr(customer, name, value)
    customer_validate(customer.workspace, customer, tax_settings_written="tax_settings" in fields)
    _check_reference_free(customer)
    _save(customer)
    if former != customer.reference:
        _keep_former_reference(customer, former)
    event_record(
        workspace=customer.workspace,
        test_mode=customer.test_mode,
        type="customer.updated",
        object_id=customer.id,
        data=customer_snapshot(customer),
    )
    return customer


def _customer_transition(customer: Customer, target: CustomerStatus, event_type: str) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if (customer.status, target) not in CUSTOMER_TRANSITIONS:
        raise DomainError(
            "customer_invalid_transition",
            f"A customer that is {customer.status} cannot become {target}.",
        )
    customer.status = target
    customer.save(update_fields=["status", "updated_at"])
    event_record(
        workspace=customer.workspace,
        test_mode=customer.test_mode,
        type=event_type,
        object_id=customer.id,
        data=customer_snapshot(customer),
    )
    return customer


@transaction.atomic
def customer_archive(*, customer: Customer) -> Customer:
    return _customer_transition(customer, CustomerStatus.ARCHIVED, "customer.archived")


@transaction.atomic
def customer_unarchive(*, customer: Customer) -> Customer:
    return _customer_transition(customer, CustomerStatus.ACTIVE, "customer.unarchived")


@transaction.atomic
def customer_delete(*, customer: Customer) -> None:
    """Delete a customer nothing refers to; one with documents (or payments, sources,
    links, subscriptions) is refused, and the answer says to archive it instead.

    Those reference customers with PROTECT, so the delete is refused when any exist,
    whichever app owns them.
    """
    snapshot = customer_snapshot(customer)
    # Its reference stays taken as a former one (kept, the customer's link nulled).
    _keep_former_reference(customer, customer.reference)
    try:
        with transaction.atomic():
            customer.delete()
    except IntegrityError as exc:
        raise DomainError(
            "customer_has_documents",
            f"This customer has {_what_refers(exc)} and cannot be deleted; archive it instead.",
        ) from exc
    event_record(
        workspace=customer.workspace,
        test_mode=customer.test_mode,
        type="customer.deleted",
        object_id=snapshot["id"],
        data=snapshot,
    )


def _what_refers(exc: IntegrityError) -> str:
    """What keeps a customer, named as the user knows it (payment links, sources, …): not
    every such row is a document, and the user has to find them to archive or end them."""
    if not isinstance(exc, ProtectedError):  # the database's own refusal names no rows
        return "documents"
    kinds = sorted({str(row._meta.verbose_name_plural) for row in exc.protected_objects})
    return ", ".join(kinds)


def _check_contact_room(customer: Customer, *, exclude: Contact | None = None) -> None:
    # Locking the customer serializes concurrent contact creation for it.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    contacts = Contact.objects.filter(customer=customer)
    if exclude is not None:
        contacts = contacts.exclude(pk=exclude.pk)
    if contacts.count() >= CONTACTS_PER_CUSTOMER:
        raise InvalidInput(
            {"customer": [f"A customer has at most {CONTACTS_PER_CUSTOMER} contacts."]}
        )


def _check_contact_tenant(workspace_id: str, test_mode: bool, customer: Customer) -> None:
    # The API only finds customers of the caller's tenant; the back office can name any.
    if customer.workspace_id != workspace_id or customer.test_mode != test_mode:
        raise InvalidInput({"customer": [f"No customer {customer.pk}."]})


class ContactFields(TypedDict, total=False):
    """What a contact's create or update may set (ContactSerializer's writable fields)."""

    customer: Customer
    orgunit: OrgUnit | None
    name: str
    email: str
    phone: str
    invoicing: bool
    collections: bool
    metadata: dict[str, Any]


@transaction.atomic
def contact_create(
    *, workspace: Workspace, test_mode: bool, **fields: Unpack[ContactFields]
) -> Contact:
    _check_contact_tenant(workspace.pk, test_mode, fields["customer"])
    _check_contact_room(fields["customer"])
    contact = Contact.objects.create(workspace=workspace, test_mode=test_mode, **fields)
    event_record(
        workspace=workspace,
        test_mode=test_mode,
        type="contact.created",
        object_id=contact.id,
        data=contact_snapshot(contact),
    )
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields: Unpack[ContactFields]) -> Contact:
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if "customer" in fields and fields["customer"].pk != contact.customer_id:
        _check_contact_tenant(contact.workspace_id, contact.test_mode, fields["customer"])
        _check_contact_room(fields["customer"], exclude=contact)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.save()
    event_record(
        workspace=contact.workspace,
        test_mode=contact.test_mode,
        type="contact.updated",
        object_id=contact.id,
        data=contact_snapshot(contact),
    )
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    snapshot = contact_snapshot(contact)
    contact.delete()
    event_record(
        workspace=contact.workspace,
        test_mode=contact.test_mode,
        type="contact.deleted",
        object_id=snapshot["id"],
        data=snapshot,
    )


@transaction.atomic
def customer_balance_record(
    *,
    customer: Customer,
    currency: str,
    amount: Decimal,
    kind: str,
    invoice_id: str,
    source_id: str,
    description: str = "",
) -> CustomerBalanceTransaction:
    """Move the customer's balance by `amount` (positive: credit the customer now holds)
    on behalf of the invoice it came from. The caller holds that invoice's row lock and
    computed `amount` from its amount due; this only records it."""
    if amount == 0:
        raise InvalidInput({"amount": ["A balance transaction moves a non-zero amount."]})
    return CustomerBalanceTransaction.objects.create(
        workspace_id=customer.workspace_id,
        test_mode=customer.test_mode,
        customer=customer,
        currency_id=currency,
        amount=amount,
        kind=kind,
        invoice_id=invoice_id,
        source_id=source_id,
        description=description,
    )


def customer_record_stripe_sync(
    *, customer_id: str, status: str, now: datetime, stripe_id: str = "", error: str = ""
) -> None:
    """Note where the customer's copy in Stripe stands. No event: this is bookkeeping of
    the sync itself, and a customer.updated event would start another sync."""
    changes: dict[str, Any] = {"stripe_sync_status": status, "stripe_sync_error": error[:256]}
    if stripe_id:
        changes["stripe_id"] = stripe_id
    if status == StripeSyncStatus.SYNCED:
        changes["stripe_synced_at"] = now
    Customer.objects.filter(pk=customer_id).update(**changes)
