"""What the supplier service refuses shows on the admin's form (no 500)."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import change_form_data
from procurement.tests.factories import SupplierFactory

pytestmark = pytest.mark.django_db


def test_a_bad_tax_id_is_refused_on_the_form(admin_client):
    supplier = SupplierFactory()
    url = reverse("admin:procurement_supplier_change", args=[supplier.pk])
    data = change_form_data(supplier, skip=("workspace", "test_mode"), tax_id="76.086.428-4")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "tax_id" in response.content.decode() and "errorlist" in response.content.decode()
    stored = supplier.tax_id
    supplier.refresh_from_db()
    assert supplier.tax_id == stored
