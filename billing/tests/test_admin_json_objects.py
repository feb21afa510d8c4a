"""JSON fields the API reads back as objects (tax settings, a biller's settings) refuse
anything else on every admin form: a list saved there made the admin page itself, and
every later read of the object, a 500."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import rendered_form_data
from customers.tests.factories import CustomerFactory
from organization.tests.factories import BillerFactory

pytestmark = pytest.mark.django_db


def _post_change(admin_client, obj, **changes):
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return admin_client.post(url, rendered_form_data(admin_client.get(url), **changes))


@pytest.mark.parametrize("value", ["[1]", "[]", '"giro"', "3", "true"])
def test_customer_tax_settings_other_than_an_object_are_refused(admin_client, tenant, value):
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=tenant.test_mode)

    response = _post_change(admin_client, customer, tax_settings=value)

    assert response.status_code == 200
    assert "tax_settings" in response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.tax_settings == {}
    assert tenant.client.get(f"/customers/{customer.pk}/").status_code == 200


def test_customer_tax_settings_emptied_are_not_an_error(admin_client, tenant):
    customer = CustomerFactory(
        workspace=tenant.workspace, test_mode=tenant.test_mode, tax_settings={"a": "b"}
    )

    response = _post_change(admin_client, customer, tax_settings="")

    assert response.status_code == 302
    customer.refresh_from_db()
    assert isinstance(customer.tax_settings, dict)
    assert tenant.client.get(f"/customers/{customer.pk}/").status_code == 200


def test_customer_tax_settings_as_an_object_are_saved(admin_client, tenant):
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=tenant.test_mode)

    response = _post_change(
        admin_client, customer, tax_settings='{"cl_activity_description": "Imprenta"}'
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.tax_settings == {"cl_activity_description": "Imprenta"}


def test_biller_settings_other_than_an_object_are_refused(admin_client):
    biller = BillerFactory()

    response = _post_change(admin_client, biller, settings="[1]")

    assert response.status_code == 200
    assert "settings" in response.context["adminform"].form.errors
    biller.refresh_from_db()
    assert biller.settings == {}


def test_workspace_tax_settings_other_than_an_object_are_refused(admin_client, tenant):
    workspace = tenant.workspace

    response = _post_change(admin_client, workspace, tax_settings="[1]")

    assert response.status_code == 200
    assert "tax_settings" in response.context["adminform"].form.errors
    workspace.refresh_from_db()
    assert workspace.tax_settings == {}
