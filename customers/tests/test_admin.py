"""The customer admin runs the API's rules through the same services (and records the
same events); what a service refuses shows on the form."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from billing.models import Event
from billing.tests.admin_helpers import change_form_data
from customers import services
from customers.choices import CONTACTS_PER_CUSTOMER, BalanceTransactionKind
from customers.models import Contact, Customer
from customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def change_url(customer):
    return reverse("admin:customers_customer_change", args=[customer.pk])


def form_data(customer, **changes):
    """What the change form posts: the editable fields as stored, with some changed."""
    data = {
        name: "" if value is None else value
        for name, value in model_to_dict(customer).items()
        if name not in {"id", "workspace", "test_mode"}
    }
    data["tax_settings"] = "{}"
    data["metadata"] = "{}"
    data |= {
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    return {name: value for name, value in data.items() if value is not False} | changes


def with_documents(customer):
    services.customer_balance_record(
        customer=customer,
        currency="CLP",
        amount=Decimal(100),
        kind=BalanceTransactionKind.CREDIT_NOTE,
        invoice_id="inv_1",
        source_id="cre_1",
    )
    return customer


def test_a_change_is_saved_through_the_service_and_recorded(admin_client, tenant):
    customer = CustomerFactory(workspace=tenant.workspace)

    response = admin_client.post(change_url(customer), form_data(customer, name="Renamed"))

    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert customer.name == "Renamed"
    assert Event.objects.filter(object_id=customer.pk, type="customer.updated").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"currency": "USD"}, "its currency cannot change"),
        ({"tax_id": "76.086.428-4"}, "tax_id"),
    ],
    ids=["currency", "tax_id"],
)
def test_a_change_the_api_refuses_is_refused_on_the_form(admin_client, tenant, changes, message):
    customer = with_documents(CustomerFactory(workspace=tenant.workspace))
    before = model_to_dict(customer)

    response = admin_client.post(change_url(customer), form_data(customer, **changes))

    assert response.status_code == 200
    assert message in response.content.decode()
    customer.refresh_from_db()
    assert model_to_dict(customer) == before


def test_a_reference_another_customer_has_is_refused_on_the_form(admin_client, tenant):
    CustomerFactory(workspace=tenant.workspace, reference="ERP-1")
    customer = CustomerFactory(workspace=tenant.workspace)

    response = admin_client.post(change_url(customer), form_data(customer, reference="ERP-1"))

    assert response.status_code == 200
    assert "A customer with this reference exists." in response.content.decode()
    customer.refresh_from_db()
    assert customer.reference is None


def test_a_customer_with_documents_is_not_deleted(admin_client, tenant):
    customer = with_documents(CustomerFactory(workspace=tenant.workspace))

    admin_client.post(
        reverse("admin:customers_customer_delete", args=[customer.pk]), {"post": "yes"}
    )

    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_customer_is_added_through_the_service(admin_client, tenant):
    model = CustomerFactory(workspace=tenant.workspace)
    data = form_data(model, name="Added", tax_id="76.086.428-5") | {
        "workspace": tenant.workspace.pk
    }

    response = admin_client.post(reverse("admin:customers_customer_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    added = Customer.objects.get(name="Added")
    assert added.tax_id == "76086428-5"
    assert Event.objects.filter(object_id=added.pk, type="customer.created").exists()


# Contacts, on their own page or inside their customer's, are saved by the contact
# services: the same limit, tenant and contact.* events as in the API.


def contact_url(contact):
    return reverse("admin:customers_contact_change", args=[contact.pk])


def inline_contact(index, **fields):
    return {f"contacts-{index}-{name}": value for name, value in fields.items()}


def test_a_contact_change_is_saved_through_the_service_and_recorded(admin_client, tenant):
    contact = ContactFactory(workspace=tenant.workspace)

    response = admin_client.post(contact_url(contact), change_form_data(contact, name="Ana"))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Contact.objects.get(pk=contact.pk).name == "Ana"
    assert Event.objects.filter(object_id=contact.pk, type="contact.updated").exists()


def test_a_contact_is_added_in_its_customers_tenant_and_recorded(admin_client, tenant):
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=True)
    data = {"customer": customer.pk, "name": "Ana", "metadata": "{}"}

    response = admin_client.post(reverse("admin:customers_contact_add"), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    added = Contact.objects.get(name="Ana")
    assert (added.workspace_id, added.test_mode) == (tenant.workspace.pk, True)
    assert Event.objects.filter(object_id=added.pk, type="contact.created").exists()


def test_a_contact_does_not_move_to_a_customer_of_another_tenant(admin_client, tenant):
    contact = ContactFactory(workspace=tenant.workspace)
    elsewhere = CustomerFactory(workspace=tenant.workspace, test_mode=True)

    response = admin_client.post(
        contact_url(contact), change_form_data(contact, customer=elsewhere.pk)
    )

    assert response.status_code == 200
    assert f"No customer {elsewhere.pk}." in response.content.decode()
    assert Contact.objects.get(pk=contact.pk).customer_id == contact.customer_id


def test_contacts_added_on_the_customer_page_are_recorded(admin_client, tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    data = form_data(customer) | {"contacts-TOTAL_FORMS": "1"}
    data |= inline_contact(0, name="Ana", email="ana@example.com", customer=customer.pk)

    response = admin_client.post(change_url(customer), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    added = Contact.objects.get(customer=customer)
    assert added.workspace_id == customer.workspace_id
    assert Event.objects.filter(object_id=added.pk, type="contact.created").exists()


def test_more_contacts_than_a_customer_may_have_are_refused_on_the_form(admin_client, tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    count = CONTACTS_PER_CUSTOMER + 1
    data = form_data(customer) | {"contacts-TOTAL_FORMS": str(count)}
    for index in range(count):
        data |= inline_contact(index, name=f"Contact {index}", customer=customer.pk)

    response = admin_client.post(change_url(customer), data)

    assert response.status_code == 200
    assert f"Please submit at most {CONTACTS_PER_CUSTOMER} forms." in response.content.decode()
    assert not Contact.objects.filter(customer=customer).exists()
