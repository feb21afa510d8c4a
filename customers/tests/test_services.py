from decimal import Decimal
from functools import partial

import pytest

from billing.errors import DomainError, InvalidInput
from billing.models import Country, Currency, Event, State
from billing.tax_ids import normalize_stored_ruts
from billing.tests.factories import WorkspaceFactory
from customers import services
from customers.choices import CONTACTS_PER_CUSTOMER, BalanceTransactionKind, CustomerStatus
from customers.models import Contact, Customer
from customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

VALID_RUT = "76086428-5"


@pytest.fixture
def workspace():
    return WorkspaceFactory(country_id="CL")


def country(code):
    return Country.objects.get(code=code)


def create(workspace, *, test_mode=False, **fields):
    fields.setdefault("name", "ACME SpA")
    fields.setdefault("country", country("CL"))
    if fields["country"].code == "CL":
        fields.setdefault("tax_id", VALID_RUT)
    return services.customer_create(workspace=workspace, test_mode=test_mode, **fields)


# Create


@pytest.mark.parametrize(("code", "currency"), [("CL", "CLP"), ("AR", "ARS"), ("US", "USD")])
def test_create_takes_the_currency_of_the_country(workspace, code, currency):
    customer = create(workspace, country=country(code))

    assert customer.currency_id == currency


def test_create_keeps_an_explicit_currency(workspace):
    customer = create(workspace, currency=Currency.objects.get(code="USD"))

    assert customer.currency_id == "USD"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("76.086.428-5", "76086428-5"),
        ("760864285", "76086428-5"),
        (" 76086428-5 ", "76086428-5"),
        ("10.000.013-k", "10000013-K"),
        ("07.608.642-7", "7608642-7"),  # a leading zero is not part of the number
        ("07608642-7", "7608642-7"),
    ],
)
def test_create_normalizes_a_rut(workspace, given, stored):
    customer = create(workspace, tax_id=given)

    customer.refresh_from_db()
    assert customer.tax_id == stored


def test_one_rut_has_one_spelling_among_stored_customers(workspace):
    with_zero = CustomerFactory(workspace=workspace, tax_id="07608642-7")  # stored as it was
    create(workspace, tax_id="07.608.642-7")
    create(workspace, tax_id="7608642-7")

    normalize_stored_ruts(Customer.objects.all())  # the data migration

    with_zero.refresh_from_db()
    assert set(Customer.objects.values_list("tax_id", flat=True)) == {"7608642-7"}


def test_create_refuses_a_rut_with_a_wrong_check_digit(workspace):
    with pytest.raises(InvalidInput) as caught:
        create(workspace, tax_id="76.086.428-6")

    assert caught.value.errors == {"tax_id": ["The check digit does not match."]}
    assert not Customer.objects.exists()
    assert not Event.objects.exists()


def test_create_requires_a_tax_id_for_a_local_customer_of_a_regulated_country(workspace):
    with pytest.raises(InvalidInput) as caught:
        create(workspace, tax_id="")

    assert list(caught.value.errors) == ["tax_id"]
    assert not Customer.objects.exists()


def test_create_does_not_require_a_tax_id_for_a_foreign_customer(workspace):
    customer = create(workspace, country=country("AR"))

    assert customer.tax_id == ""
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_create_requires_a_tax_id_where_the_customer_is_local_to_the_workspace():
    argentine_workspace = WorkspaceFactory(country_id="AR", currency="ARS")

    with pytest.raises(InvalidInput) as caught:
        create(argentine_workspace, country=country("AR"))

    assert list(caught.value.errors) == ["tax_id"]


def test_create_accepts_a_state_of_the_country(workspace):
    customer = create(workspace, state=State.objects.get(code="CL-RM"))

    assert customer.state_id == "CL-RM"


def test_create_refuses_a_state_outside_the_country(workspace):
    with pytest.raises(InvalidInput) as caught:
        create(workspace, country=country("AR"), state=State.objects.get(code="CL-RM"))

    assert list(caught.value.errors) == ["state"]
    assert not Customer.objects.exists()


# References


def test_a_reference_is_unique_in_its_workspace_and_mode(workspace):
    create(workspace, reference="ext-1")

    with pytest.raises(InvalidInput) as caught:
        create(workspace, reference="ext-1")

    assert list(caught.value.errors) == ["reference"]
    assert Customer.objects.filter(reference="ext-1").count() == 1


def test_the_same_reference_is_free_in_another_workspace_and_in_test_mode(workspace):
    create(workspace, reference="ext-1")

    in_test_mode = create(workspace, test_mode=True, reference="ext-1")
    elsewhere = create(WorkspaceFactory(), reference="ext-1")

    assert in_test_mode.reference == elsewhere.reference == "ext-1"
    assert Customer.objects.filter(reference="ext-1").count() == 3


def test_customers_without_a_reference_do_not_collide(workspace):
    create(workspace)
    create(workspace)

    assert Customer.objects.filter(reference__isnull=True).count() == 2


@pytest.mark.postgresql
def test_the_database_refuses_a_reference_taken_after_validation_looked(workspace, monkeypatch):
    # Two concurrent creates both pass the look-up; the unique constraint decides.
    create(workspace, reference="ext-1")
    monkeypatch.setattr(services, "_check_reference_free", lambda customer: None)

    with pytest.raises(InvalidInput) as caught:
        create(workspace, reference="ext-1")

    assert list(caught.value.errors) == ["reference"]
    assert Customer.objects.filter(reference="ext-1").count() == 1


# Update


def test_update_changes_fields_and_normalizes_the_tax_id(workspace):
    customer = create(workspace)

    services.customer_update(customer=customer, name="ACME Chile SpA", tax_id="10.000.013-k")

    customer.refresh_from_db()
    assert customer.name == "ACME Chile SpA"
    assert customer.tax_id == "10000013-K"


def test_update_refuses_a_bad_tax_id_and_leaves_the_customer_unchanged(workspace):
    customer = create(workspace)

    with pytest.raises(InvalidInput) as caught:
        services.customer_update(customer=customer, name="Renamed", tax_id="76086428-6")

    assert list(caught.value.errors) == ["tax_id"]
    customer.refresh_from_db()
    assert (customer.name, customer.tax_id) == ("ACME SpA", VALID_RUT)


def test_update_may_keep_its_own_reference_but_not_take_another(workspace):
    first = create(workspace, reference="ext-1")
    second = create(workspace, reference="ext-2")

    services.customer_update(customer=first, reference="ext-1", name="Same reference")
    with pytest.raises(InvalidInput) as caught:
        services.customer_update(customer=second, reference="ext-1")

    assert list(caught.value.errors) == ["reference"]
    second.refresh_from_db()
    assert second.reference == "ext-2"


# Status transitions


@pytest.mark.parametrize(
    ("start", "transition", "end"),
    [
        (CustomerStatus.ACTIVE, services.customer_archive, CustomerStatus.ARCHIVED),
        (CustomerStatus.PENDING, services.customer_archive, CustomerStatus.ARCHIVED),
        (CustomerStatus.ARCHIVED, services.customer_unarchive, CustomerStatus.ACTIVE),
    ],
)
def test_allowed_transitions(workspace, start, transition, end):
    customer = CustomerFactory(workspace=workspace, status=start)

    result = transition(customer=customer)

    customer.refresh_from_db()
    assert result.status == customer.status == end


@pytest.mark.parametrize(
    ("start", "transition"),
    [
        (CustomerStatus.ARCHIVED, services.customer_archive),
        (CustomerStatus.ACTIVE, services.customer_unarchive),
        (CustomerStatus.PENDING, services.customer_unarchive),
    ],
)
def test_forbidden_transitions(workspace, start, transition):
    customer = CustomerFactory(workspace=workspace, status=start)

    with pytest.raises(DomainError) as caught:
        transition(customer=customer)

    assert (caught.value.code, caught.value.status_code) == ("customer_invalid_transition", 409)
    customer.refresh_from_db()
    assert customer.status == start
    assert not Event.objects.filter(object_id=customer.id).exists()


# Delete


def test_delete_removes_the_customer_and_its_contacts(workspace):
    contact = ContactFactory(workspace=workspace)
    customer = contact.customer

    services.customer_delete(customer=customer)

    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_a_customer_with_balance_entries_keeps_its_currency(workspace):
    customer = create(workspace)
    services.customer_balance_record(
        customer=customer,
        currency="CLP",
        amount=Decimal(100),
        kind=BalanceTransactionKind.CREDIT_NOTE,
        invoice_id="inv_1",
        source_id="cre_1",
    )

    with pytest.raises(DomainError) as caught:
        services.customer_update(customer=customer, currency=Currency.objects.get(code="USD"))

    assert caught.value.code == "customer_has_documents"
    customer.refresh_from_db()
    assert customer.currency_id == "CLP"


# Contacts


def test_a_customer_has_at_most_seven_contacts(workspace):
    customer = CustomerFactory(workspace=workspace)
    for i in range(CONTACTS_PER_CUSTOMER):
        services.contact_create(
            workspace=workspace, test_mode=False, customer=customer, name=f"Contact {i}"
        )

    with pytest.raises(InvalidInput) as caught:
        services.contact_create(
            workspace=workspace, test_mode=False, customer=customer, name="One too many"
        )

    assert list(caught.value.errors) == ["customer"]
    assert customer.contacts.count() == CONTACTS_PER_CUSTOMER == 7


def test_a_contact_cannot_move_to_a_customer_that_is_full(workspace):
    full = CustomerFactory(workspace=workspace)
    ContactFactory.create_batch(CONTACTS_PER_CUSTOMER, workspace=workspace, customer=full)
    contact = ContactFactory(workspace=workspace)
    origin = contact.customer_id

    with pytest.raises(InvalidInput):
        services.contact_update(contact=contact, customer=full)

    contact.refresh_from_db()
    assert contact.customer_id == origin


def test_a_contact_of_a_full_customer_can_still_be_edited(workspace):
    full = CustomerFactory(workspace=workspace)
    contacts = ContactFactory.create_batch(
        CONTACTS_PER_CUSTOMER, workspace=workspace, customer=full
    )

    services.contact_update(contact=contacts[0], customer=full, name="Renamed")

    contacts[0].refresh_from_db()
    assert contacts[0].name == "Renamed"


# Domain events


def _customer_created(workspace):
    customer = create(workspace, test_mode=True)
    return customer.id


def _customer_updated(workspace):
    customer = CustomerFactory(workspace=workspace, test_mode=True)
    services.customer_update(customer=customer, name="Renamed")
    return customer.id


def _customer_archived(workspace):
    customer = CustomerFactory(workspace=workspace, test_mode=True)
    services.customer_archive(customer=customer)
    return customer.id


def _customer_unarchived(workspace):
    customer = CustomerFactory(workspace=workspace, test_mode=True, status=CustomerStatus.ARCHIVED)
    services.customer_unarchive(customer=customer)
    return customer.id


def _customer_deleted(workspace):
    customer = CustomerFactory(workspace=workspace, test_mode=True)
    customer_id = customer.id
    services.customer_delete(customer=customer)
    return customer_id


def _contact_created(workspace):
    customer = CustomerFactory(workspace=workspace, test_mode=True)
    contact = services.contact_create(
        workspace=workspace, test_mode=True, customer=customer, name="Ana"
    )
    return contact.id


def _contact_updated(workspace):
    contact = ContactFactory(workspace=workspace, test_mode=True)
    services.contact_update(contact=contact, name="Renamed")
    return contact.id


def _contact_deleted(workspace):
    contact = ContactFactory(workspace=workspace, test_mode=True)
    contact_id = contact.id
    services.contact_delete(contact=contact)
    return contact_id


EVENTS = [
    ("customer.created", _customer_created),
    ("customer.updated", _customer_updated),
    ("customer.archived", _customer_archived),
    ("customer.unarchived", _customer_unarchived),
    ("customer.deleted", _customer_deleted),
    ("contact.created", _contact_created),
    ("contact.updated", _contact_updated),
    ("contact.deleted", _contact_deleted),
]


@pytest.mark.parametrize(("event_type", "change"), EVENTS, ids=[e for e, _ in EVENTS])
def test_each_change_records_its_event(
    workspace, event_type, change, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as published:
        object_id = change(workspace)

    event = Event.objects.get(type=event_type)
    assert event.object_id == object_id
    assert event.data["id"] == object_id
    assert (event.workspace_id, event.test_mode) == (workspace.id, True)
    assert event.published_at is None
    # Published only once the transaction that recorded the event commits.
    assert len(published) == Event.objects.count()


def _fail_to_record(**kwargs):
    raise RuntimeError("the event could not be written")


def _rows():
    return (
        list(Customer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
    )


# Each arranges its objects and returns the change, so the rows can be read in between.
ATOMIC_CHANGES = {
    "customer_create": lambda ws: lambda: create(ws),
    "customer_update": lambda ws: partial(
        services.customer_update, customer=CustomerFactory(workspace=ws), name="Renamed"
    ),
    "customer_archive": lambda ws: partial(
        services.customer_archive, customer=CustomerFactory(workspace=ws)
    ),
    "customer_delete": lambda ws: partial(
        services.customer_delete, customer=ContactFactory(workspace=ws).customer
    ),
    "contact_create": lambda ws: partial(
        services.contact_create,
        workspace=ws,
        test_mode=False,
        customer=CustomerFactory(workspace=ws),
        name="Ana",
    ),
    "contact_update": lambda ws: partial(
        services.contact_update, contact=ContactFactory(workspace=ws), name="Renamed"
    ),
    "contact_delete": lambda ws: partial(
        services.contact_delete, contact=ContactFactory(workspace=ws)
    ),
}


@pytest.mark.parametrize("arrange", ATOMIC_CHANGES.values(), ids=ATOMIC_CHANGES.keys())
def test_a_change_whose_event_cannot_be_written_is_rolled_back(workspace, monkeypatch, arrange):
    change = arrange(workspace)
    before = _rows()
    monkeypatch.setattr(services, "event_record", _fail_to_record)

    with pytest.raises(RuntimeError):
        change()

    assert _rows() == before


def test_a_reference_stored_before_the_id_prefix_was_refused_does_not_block_other_changes(
    workspace,
):
    customer = create(workspace)
    Customer.objects.filter(pk=customer.pk).update(reference=customer.pk)

    updated = services.customer_update(customer=customer, name="Renamed SpA")

    assert (updated.name, updated.reference) == ("Renamed SpA", customer.pk)
