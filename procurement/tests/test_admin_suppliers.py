"""What the supplier service refuses shows on the admin's form (no 500)."""

import json

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import change_form_data, rendered_form_data
from procurement.tests.factories import PurchaseFactory, SupplierFactory

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


@pytest.mark.parametrize(
    "metadata",
    ["[1, 2]", '"text"', '{"nested": {"a": 1}}', '{"flag": true}', json.dumps({"k" * 41: "v"})],
)
def test_metadata_the_api_would_refuse_is_refused_on_the_forms(admin_client, tenant, metadata):
    # The API reads metadata back as a flat object of text (Stripe's shape): a list saved
    # here made every read of the supplier a 500.
    supplier = SupplierFactory(workspace=tenant.workspace)
    purchase = PurchaseFactory(workspace=tenant.workspace, supplier=supplier)

    for obj, path in ((supplier, "/suppliers/"), (purchase, "/purchases/")):
        opts = obj._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        response = admin_client.post(
            url, rendered_form_data(admin_client.get(url), metadata=metadata)
        )

        assert response.status_code == 200
        assert "metadata" in response.context["adminform"].form.errors
        obj.refresh_from_db()
        assert obj.metadata == {}
        assert tenant.client.get(f"{path}{obj.pk}/").status_code == 200


def test_metadata_of_text_values_is_saved_from_the_form(admin_client, tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)
    url = reverse("admin:procurement_supplier_change", args=[supplier.pk])

    response = admin_client.post(
        url, rendered_form_data(admin_client.get(url), metadata='{"erp": "A-17", "n": 7}')
    )

    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.metadata == {"erp": "A-17", "n": 7}
    assert tenant.client.get(f"/suppliers/{supplier.pk}/").json()["metadata"]["n"] == "7"


@pytest.mark.parametrize("tax_settings", ["[1, 2]", '"giro"', "3"])
def test_tax_settings_other_than_an_object_are_refused_on_the_form(
    admin_client, tenant, tax_settings
):
    # The API reads tax settings back as an object: a list saved here made every read of
    # the supplier a 500.
    supplier = SupplierFactory(workspace=tenant.workspace)
    url = reverse("admin:procurement_supplier_change", args=[supplier.pk])

    response = admin_client.post(
        url, rendered_form_data(admin_client.get(url), tax_settings=tax_settings)
    )

    assert response.status_code == 200
    assert "tax_settings" in response.context["adminform"].form.errors
    supplier.refresh_from_db()
    assert supplier.tax_settings == {}
    assert tenant.client.get(f"/suppliers/{supplier.pk}/").status_code == 200
