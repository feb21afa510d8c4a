"""Deletes a protected foreign key stops and writes a database constraint refuses are 409s
with a code (billing.api.errors), never 500s; the services name the cases they foresee."""

import pytest

import customers.api.views
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice, Order
from invoices.tests.factories import InvoiceFactory, OrderFactory
from payments.tests.factories import IntentFactory
from procurement.models import Purchase
from procurement.tests.factories import PurchaseFactory, RetentionFactory

pytestmark = pytest.mark.django_db


def test_a_protected_delete_no_service_foresaw_is_a_409_naming_the_referrers(
    tenant, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=tenant.workspace)
    invoice = InvoiceFactory(workspace=tenant.workspace, customer=customer)
    monkeypatch.setattr(
        customers.api.views.services, "customer_delete", lambda *, customer: customer.delete()
    )

    response = tenant.client.delete(f"/customers/{customer.id}/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "protected"
    assert invoice.id in response.json()["detail"]
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_an_integrity_error_is_a_409_and_rolls_back_the_handlers_writes(
    tenant, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    existing = CustomerFactory(workspace=tenant.workspace)

    def create_twice(**fields):  # type: ignore[no-untyped-def]
        CustomerFactory(workspace=tenant.workspace, name="Written first")
        return CustomerFactory(id=existing.id, workspace=tenant.workspace)  # the same key

    monkeypatch.setattr(customers.api.views.services, "customer_create", create_twice)
    body = {"name": "ACME", "country": "US"}

    first = tenant.client.post(
        "/customers/", body, format="json", headers={"Idempotency-Key": "k-1"}
    )
    replay = tenant.client.post(
        "/customers/", body, format="json", headers={"Idempotency-Key": "k-1"}
    )

    assert first.status_code == 409, first.content
    assert first.json()["code"] == "conflict"
    assert replay.status_code == 409 and replay.headers["Idempotent-Replayed"] == "true"
    assert not Customer.objects.filter(name="Written first").exists()


def test_the_draft_invoice_of_an_invoiced_order_is_kept(tenant) -> None:  # type: ignore[no-untyped-def]
    order = OrderFactory(workspace=tenant.workspace, status="confirmed")
    invoiced = tenant.client.post(f"/orders/{order.id}/invoice/")
    assert invoiced.status_code == 200, invoiced.json()
    invoice_id = invoiced.json()["invoice"]

    response = tenant.client.delete(f"/invoices/{invoice_id}/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invoice_from_order"
    assert order.id in response.json()["detail"]
    assert Invoice.objects.filter(pk=invoice_id).exists()


@pytest.mark.parametrize(
    ("status", "code"),
    [("requires_payment_method", "order_has_open_intent"), ("cancelled", "order_has_intents")],
)
def test_an_order_with_an_intent_is_kept(tenant, status, code) -> None:  # type: ignore[no-untyped-def]
    order = OrderFactory(workspace=tenant.workspace)
    intent = IntentFactory(workspace=tenant.workspace, order=order, status=status)

    response = tenant.client.delete(f"/orders/{order.id}/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == code
    assert (intent.id if code == "order_has_intents" else "cancel the intent") in response.json()[
        "detail"
    ]
    assert Order.objects.filter(pk=order.pk).exists()


def test_a_draft_purchase_a_retention_links_is_kept(tenant) -> None:  # type: ignore[no-untyped-def]
    purchase = PurchaseFactory(workspace=tenant.workspace)
    retention = RetentionFactory(
        workspace=tenant.workspace, supplier=purchase.supplier, purchase=purchase
    )

    response = tenant.client.delete(f"/purchases/{purchase.id}/")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "purchase_has_retentions"
    assert retention.id in response.json()["detail"]
    assert Purchase.objects.filter(pk=purchase.pk).exists()
    # Without the link the draft goes.
    retention.purchase = None
    retention.save(update_fields=["purchase"])
    assert tenant.client.delete(f"/purchases/{purchase.id}/").status_code == 204
