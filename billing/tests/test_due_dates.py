"""A document's `due_date` is never before its `date`, whichever of the two a write
changes: a 400 on `due_date` (billing.documents), for invoices and purchases alike."""

import pytest

from customers.tests.factories import CustomerFactory
from procurement.tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db

LINES = [{"name": "Papel", "amount": 1000}]


def _invoice(tenant) -> dict:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(workspace=tenant.workspace)
    return {"customer": customer.id, "document": 33, "lines": LINES}


def _purchase(tenant) -> dict:  # type: ignore[no-untyped-def]
    supplier = SupplierFactory(workspace=tenant.workspace)
    return {"supplier": supplier.pk, "document": 33, "number": 1001, "lines": LINES}


KINDS = [("/invoices/", _invoice), ("/purchases/", _purchase)]
BEFORE = {"due_date": ["The due date (2026-03-09) is before the document's date (2026-03-10)."]}


@pytest.mark.parametrize(("path", "body"), KINDS)
def test_a_due_date_before_the_date_is_refused_at_create(tenant, path, body) -> None:  # type: ignore[no-untyped-def]
    dates = {"date": "2026-03-10", "due_date": "2026-03-09"}

    response = tenant.client.post(path, {**body(tenant), **dates}, format="json")

    assert response.status_code == 400
    assert response.json() == BEFORE


@pytest.mark.parametrize(("path", "body"), KINDS)
def test_an_update_of_either_date_is_checked_against_the_other(tenant, path, body) -> None:  # type: ignore[no-untyped-def]
    dates = {"date": "2026-03-10", "due_date": "2026-03-10"}  # due the same day
    created = tenant.client.post(path, {**body(tenant), **dates}, format="json")
    assert created.status_code == 201, created.json()
    url = f"{path}{created.json()['id']}/"

    earlier_due = tenant.client.patch(url, {"due_date": "2026-03-09"}, format="json")
    later_date = tenant.client.put(url, {"date": "2026-03-11"}, format="json")
    both = tenant.client.patch(url, {"date": "2026-03-11", "due_date": "2026-03-12"}, format="json")

    assert (earlier_due.status_code, later_date.status_code) == (400, 400)
    assert earlier_due.json() == BEFORE
    assert list(later_date.json()) == ["due_date"]
    assert both.status_code == 200, both.json()
    assert (both.json()["date"], both.json()["due_date"]) == ("2026-03-11", "2026-03-12")
