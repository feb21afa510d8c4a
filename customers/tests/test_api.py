import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.choices import CustomerStatus
from customers.models import Contact, Customer, CustomerBalanceTransaction
from customers.representations import CustomerSerializer
from customers.tests.factories import ContactFactory, CustomerFactory
from invoices.tests.factories import FinalizedInvoiceFactory
from organization.tests.factories import OrgUnitFactory
from payments.tests.factories import PaymentLinkFactory, SourceFactory
from tests.numbers import money

ULID = "[0-9A-HJKMNP-TV-Z]{26}"
CUSTOMER_FIELDS = {
    "id", "name", "address", "country", "state", "comuna", "currency", "email", "phone",
    "website",
    "zip_code", "manager", "reference", "tax_id", "tax_settings", "send_invoices",
    "send_collections", "send_vouchers", "status", "stripe_id", "stripe_sync_status",
    "stripe_synced_at", "contacts", "sources", "aggregations", "metadata", "test_mode",
    "created", "updated",
}  # fmt: skip
CONTACT_FIELDS = {
    "id", "customer", "orgunit", "name", "email", "phone", "invoicing", "collections",
    "metadata", "test_mode", "created", "updated",
}  # fmt: skip
NEW_CUSTOMER = {
    "name": "ACME SpA",
    "country": "CL",
    "tax_id": "76.086.428-5",
    "email": "billing@acme.cl",
    "state": "CL-RM",
    "reference": "crm-42",
    "tax_settings": {"cl_activity_description": "Software"},
    "metadata": {"plan": "gold"},
}


def ids(response):
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def customer_in(tenant, **fields):
    return CustomerFactory(workspace=tenant.workspace, **fields)


# Create, read, update, delete


def test_create_answers_201_with_the_customer(tenant):
    response = tenant.client.post("/customers/", NEW_CUSTOMER, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == CUSTOMER_FIELDS
    assert len(body) == 29
    assert re.fullmatch(f"cus_{ULID}", body["id"])
    assert body | {"id": None, "created": None, "updated": None} == {
        "id": None,
        "name": "ACME SpA",
        "address": "",
        "country": "CL",
        "state": "CL-RM",
        "comuna": None,
        "currency": "CLP",
        "email": "billing@acme.cl",
        "phone": "",
        "website": "",
        "zip_code": "",
        "manager": "",
        "reference": "crm-42",
        "tax_id": "76086428-5",
        "tax_settings": {"cl_activity_description": "Software"},
        "send_invoices": True,
        "send_collections": True,
        "send_vouchers": True,
        "status": "active",
        "stripe_id": "",
        "stripe_sync_status": "not_synced",
        "stripe_synced_at": None,
        "contacts": [],
        "sources": [],
        "aggregations": {
            "sales": 0,
            "sales_current_period": 0,
            "balance": 0,
            "credit_balance": 0,
        },
        "metadata": {"plan": "gold"},
        "test_mode": False,
        "created": None,
        "updated": None,
    }
    assert Customer.objects.get(pk=body["id"]).workspace_id == tenant.workspace.id


def test_create_accepts_country_codes_in_any_case(tenant):
    response = tenant.client.post(
        "/customers/", {"name": "Gaucho SA", "country": "ar"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["country"], response.json()["currency"]) == ("AR", "ARS")


def test_retrieve_answers_the_same_representation(tenant):
    created = tenant.client.post("/customers/", NEW_CUSTOMER, format="json").json()

    response = tenant.client.get(f"/customers/{created['id']}/")

    assert response.status_code == 200
    assert response.json() == created


def test_put_replaces_the_writable_fields(tenant):
    created = tenant.client.post("/customers/", NEW_CUSTOMER, format="json").json()

    response = tenant.client.put(
        f"/customers/{created['id']}/",
        {"name": "ACME Chile SpA", "country": "CL", "tax_id": "10000013-k", "phone": "+56 2 1"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == CUSTOMER_FIELDS
    assert (body["name"], body["tax_id"], body["phone"]) == (
        "ACME Chile SpA", "10000013-K", "+56 2 1",
    )  # fmt: skip
    assert body["id"] == created["id"]


def test_put_is_partial_and_changes_only_what_it_names(tenant):
    # Piriod's SDK updates with PUT and sends only the changed fields (api.md §1 Paths).
    customer = customer_in(tenant)

    response = tenant.client.put(f"/customers/{customer.id}/", {"phone": "1"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["phone"], response.json()["name"]) == ("1", customer.name)


def test_patch_changes_only_what_it_names(tenant):
    created = tenant.client.post("/customers/", NEW_CUSTOMER, format="json").json()

    response = tenant.client.patch(
        f"/customers/{created['id']}/", {"email": "ap@acme.cl"}, format="json"
    )

    assert response.status_code == 200, response.json()
    changed = {k for k in created if created[k] != response.json()[k]}
    assert changed == {"email", "updated"}
    assert response.json()["email"] == "ap@acme.cl"


def test_a_customer_with_documents_keeps_its_currency(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    customer = invoice.customer

    response = tenant.client.put(f"/customers/{customer.id}/", {"currency": "USD"}, format="json")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "customer_has_documents"
    customer.refresh_from_db()
    assert customer.currency_id == "CLP"


def test_a_customer_with_documents_takes_its_retrieved_representation_back(tenant):
    customer = FinalizedInvoiceFactory(workspace=tenant.workspace).customer
    retrieved = tenant.client.get(f"/customers/{customer.id}/").json()

    response = tenant.client.put(f"/customers/{customer.id}/", retrieved, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["currency"] == "CLP"


def test_a_customer_without_documents_may_change_its_currency(tenant):
    customer = customer_in(tenant)

    response = tenant.client.put(f"/customers/{customer.id}/", {"currency": "USD"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["currency"] == "USD"


def test_delete_answers_204_and_the_customer_is_gone(tenant):
    customer = customer_in(tenant)

    response = tenant.client.delete(f"/customers/{customer.id}/")

    assert response.status_code == 204
    assert tenant.client.get(f"/customers/{customer.id}/").status_code == 404
    assert not Customer.objects.filter(pk=customer.id).exists()


def test_archive_and_unarchive(tenant):
    customer = customer_in(tenant)

    archived = tenant.client.post(f"/customers/{customer.id}/archive/")
    again = tenant.client.post(f"/customers/{customer.id}/archive/")
    unarchived = tenant.client.post(f"/customers/{customer.id}/unarchive/")

    assert archived.status_code == 200
    assert set(archived.json()) == CUSTOMER_FIELDS
    assert archived.json()["status"] == "archived"
    assert again.status_code == 409
    assert again.json()["code"] == "customer_invalid_transition"
    assert unarchived.status_code == 200
    assert unarchived.json()["status"] == "active"


def test_status_is_changed_by_the_actions_and_a_body_asking_for_it_is_refused(tenant):
    customer = customer_in(tenant)

    refused = tenant.client.patch(
        f"/customers/{customer.id}/", {"status": "archived"}, format="json"
    )
    unchanged = tenant.client.patch(
        f"/customers/{customer.id}/", {"status": "active", "name": "Kept"}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json() == {
        "status": ["The status changes with the archive and unarchive actions."]
    }
    assert unchanged.status_code == 200
    customer.refresh_from_db()
    assert (customer.status, customer.name) == (CustomerStatus.ACTIVE, "Kept")


# Validation


def test_an_unknown_field_is_a_400(tenant):
    response = tenant.client.post("/customers/", {**NEW_CUSTOMER, "nmae": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"nmae": ["Unknown field."]}
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("tax_id", "message"),
    [
        ("76.086.428-6", "The check digit does not match."),
        ("", "Required for customers in Chile (RUT)."),
        ("not-a-rut", None),
    ],
    ids=["check_digit", "missing", "malformed"],
)
def test_rut_errors_are_400_on_tax_id(tenant, tax_id, message):
    response = tenant.client.post("/customers/", {**NEW_CUSTOMER, "tax_id": tax_id}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["tax_id"]
    assert len(response.json()["tax_id"]) == 1
    if message is not None:
        assert response.json()["tax_id"] == [message]


def test_a_taken_reference_is_a_400_on_reference(tenant):
    customer_in(tenant, reference="crm-42")

    response = tenant.client.post("/customers/", NEW_CUSTOMER, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["reference"]


def test_a_state_of_another_country_is_a_400_on_state(tenant):
    response = tenant.client.post(
        "/customers/", {"name": "Gaucho SA", "country": "AR", "state": "CL-RM"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["state"]


@pytest.mark.parametrize("state", [840006, "840006", "us-ca", "US-CA"])
def test_a_state_is_its_integer_id_or_its_code(tenant, state):
    response = tenant.client.post(
        "/customers/", {"name": "ACME LLC", "country": "US", "state": state}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "US-CA"
    assert Customer.objects.get(pk=response.json()["id"]).state_id == "US-CA"


def test_the_states_list_gives_each_its_integer_id(tenant):
    response = tenant.client.get("/generals/states/", {"country": "US", "page_size": 100})

    states = {state["code"]: state for state in response.json()["results"]}
    assert response.json()["count"] == 51  # the fifty states and the District of Columbia
    assert states["US-CA"] == {"id": 840006, "code": "US-CA", "name": "California", "country": "US"}
    chile = tenant.client.get("/generals/states/", {"search": "Metropolitana"}).json()
    assert [(s["id"], s["code"]) for s in chile["results"]] == [(152013, "CL-RM")]


@pytest.mark.parametrize("state", [1, 10**30, -840006, True, 840006.5, [840006]])
def test_a_state_id_that_names_no_state_is_a_400_on_state(tenant, state):
    response = tenant.client.post(
        "/customers/", {"name": "ACME LLC", "country": "US", "state": state}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["state"]


# Filters, search, ordering


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"country": "ar"}, ["argentine"]),
        # Codes in any case, as writes take them.
        ({"country__in": "ar,cl"}, ["acme", "archived", "pending", "argentine"]),
        ({"country__in": "AR"}, ["argentine"]),
        ({"currency": "ars"}, ["argentine"]),
        ({"currency": "ARS"}, ["argentine"]),
        ({"email": "AP@GAUCHO.AR"}, ["argentine"]),
        ({"name": "acme"}, ["acme", "archived"]),
        ({"tax_id": "76086428-5"}, ["acme"]),
        # As writes store a RUT: without dots, zeros or a lowercase k.
        ({"tax_id": "76.086.428-5"}, ["acme"]),
        ({"tax_id": "076086428-5"}, ["acme"]),
        ({"tax_id": "12.345.678-9"}, []),
        ({"reference": "crm-7"}, ["archived"]),
        ({"status": "archived"}, ["archived"]),
        ({"status__in": "archived,pending"}, ["archived", "pending"]),
        ({"search": "gaucho"}, ["argentine"]),
        ({"search": "76086428"}, ["acme"]),
        # A tax id however it is spelled, as ?tax_id= finds it.
        ({"search": "76.086.428-5"}, ["acme"]),
        ({"search": "076086428-5"}, ["acme"]),
        ({"search": "crm-7"}, ["archived"]),
        ({"metadata__plan": "gold"}, ["acme", "pending"]),
        ({"metadata__plan": "silver"}, []),
    ],
)
def test_list_filters(tenant, query, expected):
    customers = {
        "acme": customer_in(
            tenant, name="ACME SpA", tax_id="76086428-5", metadata={"plan": "gold"}
        ),
        "archived": customer_in(
            tenant, name="Old Acme Ltda", reference="crm-7", status=CustomerStatus.ARCHIVED
        ),
        "pending": customer_in(tenant, status=CustomerStatus.PENDING, metadata={"plan": "gold"}),
        "argentine": customer_in(
            tenant, name="Gaucho SA", country_id="AR", currency_id="ARS", tax_id="",
            email="ap@gaucho.ar",
        ),
    }  # fmt: skip

    response = tenant.client.get("/customers/", query)

    assert sorted(ids(response)) == sorted(customers[name].id for name in expected)


def test_created_range_filters(tenant):
    by_day = {}
    for day in (1, 2, 3):
        customer = customer_in(tenant)
        Customer.objects.filter(pk=customer.pk).update(
            created_at=datetime(2026, 3, day, 12, tzinfo=UTC)
        )
        by_day[day] = customer.id

    since = tenant.client.get("/customers/", {"created__gte": "2026-03-02T00:00:00Z"})
    until = tenant.client.get("/customers/", {"created__lte": "2026-03-02T23:59:59Z"})
    between = tenant.client.get(
        "/customers/",
        {"created__gte": "2026-03-02T00:00:00Z", "created__lte": "2026-03-02T23:59:59Z"},
    )

    assert ids(since) == [by_day[3], by_day[2]]
    assert ids(until) == [by_day[2], by_day[1]]
    assert ids(between) == [by_day[2]]


def test_a_metadata_key_is_any_key_metadata_can_hold(tenant):
    dotted = customer_in(tenant, metadata={"a.b": "x"})
    customer_in(tenant, metadata={"a": "x", "b": "x"})

    found = tenant.client.get("/customers/", {"metadata__a.b": "x"})
    too_long = tenant.client.get("/customers/", {"metadata__" + "k" * 41: "x"})

    assert ids(found) == [dotted.id]
    assert too_long.status_code == 400
    assert list(too_long.json()) == ["metadata__" + "k" * 41]


def test_ordering_by_name_and_newest_first(tenant):
    names = ["Bravo", "Alfa", "Charlie"]
    created = [customer_in(tenant, name=name) for name in names]

    by_name = tenant.client.get("/customers/", {"ordering": "name"})
    by_name_desc = tenant.client.get("/customers/", {"ordering": "-name"})
    newest = tenant.client.get("/customers/", {"ordering": "-created"})
    default = tenant.client.get("/customers/")

    by_id = {c.name: c.id for c in created}
    assert ids(by_name) == [by_id["Alfa"], by_id["Bravo"], by_id["Charlie"]]
    assert ids(by_name_desc) == [by_id["Charlie"], by_id["Bravo"], by_id["Alfa"]]
    assert ids(newest) == ids(default) == [c.id for c in reversed(created)]


@pytest.mark.parametrize("ordering", ["tax_id", "-workspace", "name,secret"])
def test_ordering_by_an_unknown_field_is_a_400(tenant, ordering):
    response = tenant.client.get("/customers/", {"ordering": ordering})

    assert response.status_code == 400
    assert list(response.json()) == ["ordering"]


# Pagination


def test_pages_have_the_envelope_and_default_to_20(tenant):
    CustomerFactory.create_batch(25, workspace=tenant.workspace)

    first = tenant.client.get("/customers/").json()
    second = tenant.client.get("/customers/", {"page": 2}).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert (first["count"], len(first["results"]), first["previous"]) == (25, 20, None)
    assert "page=2" in first["next"]
    assert (second["count"], len(second["results"]), second["next"]) == (25, 5, None)
    assert second["previous"] is not None
    all_ids = [c["id"] for c in first["results"] + second["results"]]
    assert sorted(all_ids) == sorted(Customer.objects.values_list("id", flat=True))


def test_page_size_is_capped_at_100(tenant):
    CustomerFactory.create_batch(101, workspace=tenant.workspace)

    small = tenant.client.get("/customers/", {"page_size": 7}).json()
    huge = tenant.client.get("/customers/", {"page_size": 1000}).json()

    assert len(small["results"]) == 7
    assert (huge["count"], len(huge["results"])) == (101, 100)


def test_a_page_past_the_end_is_a_404(tenant):
    customer_in(tenant)

    response = tenant.client.get("/customers/", {"page": 2})

    assert response.status_code == 404


def test_the_list_does_not_query_per_customer(tenant, django_assert_max_num_queries):
    # token, workspace, count, page (with country/state/currency joined), contacts.
    for _ in range(15):
        customer = customer_in(tenant, state_id="CL-RM")
        ContactFactory.create_batch(3, workspace=tenant.workspace, customer=customer)

    with django_assert_max_num_queries(5):
        response = tenant.client.get("/customers/")

    assert len(response.json()["results"]) == 15
    assert all(len(c["contacts"]) == 3 for c in response.json()["results"])


# Contacts


def test_create_a_contact_and_see_it_on_its_customer(tenant):
    customer = customer_in(tenant)

    response = tenant.client.post(
        "/contacts/",
        {"customer": customer.id, "name": "Ana", "email": "ana@acme.cl", "invoicing": True},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == CONTACT_FIELDS
    assert re.fullmatch(f"con_{ULID}", body["id"])
    assert (body["customer"], body["invoicing"], body["collections"]) == (customer.id, True, False)
    shown = tenant.client.get(f"/customers/{customer.id}/").json()["contacts"]
    assert shown == [
        {
            "id": body["id"],
            "name": "Ana",
            "email": "ana@acme.cl",
            "phone": "",
            "invoicing": True,
            "collections": False,
        }
    ]


def test_contacts_filter_by_customer(tenant):
    mine = ContactFactory.create_batch(2, workspace=tenant.workspace)
    customer = mine[0].customer
    ContactFactory(workspace=tenant.workspace, customer=customer)

    response = tenant.client.get("/contacts/", {"customer": customer.id})

    expected = Contact.objects.filter(customer=customer).values_list("id", flat=True)
    assert sorted(ids(response)) == sorted(expected)
    assert len(expected) == 2


def test_contacts_filter_by_an_unknown_customer_is_a_404(tenant):
    response = tenant.client.get("/contacts/", {"customer": "cus_does_not_exist"})

    assert response.status_code == 404


def test_the_eighth_contact_is_refused(tenant):
    customer = customer_in(tenant)
    ContactFactory.create_batch(7, workspace=tenant.workspace, customer=customer)

    response = tenant.client.post(
        "/contacts/", {"customer": customer.id, "name": "Eighth"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["customer"]
    assert customer.contacts.count() == 7


def test_update_and_delete_a_contact(tenant):
    contact = ContactFactory(workspace=tenant.workspace)

    patched = tenant.client.patch(f"/contacts/{contact.id}/", {"phone": "+56 9"}, format="json")
    deleted = tenant.client.delete(f"/contacts/{contact.id}/")

    assert patched.status_code == 200
    assert patched.json()["phone"] == "+56 9"
    assert deleted.status_code == 204
    assert not Contact.objects.filter(pk=contact.id).exists()


def test_a_contact_belongs_to_an_org_unit_as_in_piriod(tenant):
    contact = ContactFactory(workspace=tenant.workspace)
    unit = OrgUnitFactory(workspace=tenant.workspace)
    ContactFactory(workspace=tenant.workspace)

    put = tenant.client.put(f"/contacts/{contact.id}/", {"orgunit": unit.id}, format="json")
    listed = tenant.client.get("/contacts/", {"orgunit": unit.id})
    cleared = tenant.client.patch(f"/contacts/{contact.id}/", {"orgunit": None}, format="json")

    assert put.status_code == 200, put.json()
    assert put.json()["orgunit"] == unit.id
    assert ids(listed) == [contact.id]
    assert cleared.status_code == 200
    assert cleared.json()["orgunit"] is None


def test_a_contact_cannot_name_another_workspaces_org_unit(tenant, other_tenant):
    customer = customer_in(tenant)
    foreign = OrgUnitFactory(workspace=other_tenant.workspace)

    response = tenant.client.post(
        "/contacts/",
        {"customer": customer.id, "name": "Ana", "orgunit": foreign.id},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["orgunit"]


def test_balance_transactions_are_read_only_in_the_admin(admin_client, tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    entry = CustomerBalanceTransaction.objects.create(
        workspace=tenant.workspace,
        customer=customer,
        currency_id="CLP",
        amount=1190,
        kind="credit_note",
        invoice_id="inv_x",
        source_id="cre_x",
    )
    opts = CustomerBalanceTransaction._meta

    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    change = admin_client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[entry.pk])
    )
    added = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))

    assert changelist.status_code == 200 and entry.pk in changelist.content.decode()
    assert change.status_code == 200 and 'name="amount"' not in change.content.decode()
    assert added.status_code == 403


def test_a_serialized_test_mode_customers_current_period_follows_the_test_clock(tenant):
    """Serialized without a view (an event's payload), a test-mode customer's current
    period is the test clock's month, as it is through the API."""
    tenant.workspace.test_clock_at = datetime(2031, 7, 15, 15, tzinfo=UTC)
    tenant.workspace.save(update_fields=["test_clock_at"])
    invoice = FinalizedInvoiceFactory(
        workspace=tenant.workspace, test_mode=True, date=date(2031, 7, 10)
    )

    aggregations = CustomerSerializer(invoice.customer).data["aggregations"]

    assert money(aggregations["sales_current_period"]) == Decimal("1190")


def test_a_reference_shaped_as_our_customer_ids_is_a_400_on_reference(tenant):
    other = customer_in(tenant)

    created = tenant.client.post(
        "/customers/", {**NEW_CUSTOMER, "reference": other.pk}, format="json"
    )
    renamed = tenant.client.patch(f"/customers/{other.pk}/", {"reference": other.pk}, format="json")

    assert created.status_code == renamed.status_code == 400
    assert (
        created.json()
        == renamed.json()
        == {"reference": ["A reference may not start with cus_, as our customer ids do."]}
    )


@pytest.mark.parametrize(
    ("holder", "named"),
    [
        (lambda customer: FinalizedInvoiceFactory(workspace=customer.workspace, customer=customer),
         "invoices"),
        (lambda customer: PaymentLinkFactory(workspace=customer.workspace, customer=customer),
         "payment links"),
        (lambda customer: SourceFactory(workspace=customer.workspace, customer=customer),
         "sources"),
    ],
)  # fmt: skip
def test_a_customer_others_refer_to_is_kept_and_the_answer_names_what(tenant, holder, named):
    customer = CustomerFactory(workspace=tenant.workspace)
    holder(customer)

    response = tenant.client.delete(f"/customers/{customer.id}/")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "customer_has_documents"
    assert named in response.json()["detail"]
    assert Customer.objects.filter(pk=customer.id).exists()
