"""The organization admins save through the organization services, as the API does:
what the API refuses is refused on the form, and nothing is saved."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import rendered_form_data
from organization.tests.factories import BankAccountFactory, BillerFactory, OrgUnitFactory

pytestmark = pytest.mark.django_db


def post_change(admin_client, obj, **changes):
    url = reverse(f"admin:organization_{obj._meta.model_name}_change", args=[obj.pk])
    return admin_client.post(url, rendered_form_data(admin_client.get(url), **changes))


def test_a_valid_change_is_saved(admin_client):
    unit = OrgUnitFactory()

    response = post_change(admin_client, unit, name="Casa matriz", sii_branch_code="81234567")

    assert response.status_code == 302
    unit.refresh_from_db()
    assert (unit.name, unit.sii_branch_code) == ("Casa matriz", "81234567")


@pytest.mark.parametrize(
    ("factory", "changes", "message"),
    [
        (OrgUnitFactory, {"sii_branch_code": "SUC-1"}, "branch code is digits only"),
        (BankAccountFactory, {"holder_tax_id": "12.345.678-0"}, "holder_tax_id"),
    ],
)
def test_what_the_api_refuses_is_refused_on_the_form(admin_client, factory, changes, message):
    obj = factory()
    before = {name: getattr(obj, name) for name in changes}

    response = post_change(admin_client, obj, **changes)

    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors)
    obj.refresh_from_db()
    assert {name: getattr(obj, name) for name in changes} == before


def test_a_test_mode_biller_cannot_file_with_production(admin_client):
    biller = BillerFactory(test_mode=True)

    response = post_change(admin_client, biller, environment="production")

    assert response.status_code == 200
    assert "certification environment" in response.content.decode()
    biller.refresh_from_db()
    assert biller.environment == "certification"
