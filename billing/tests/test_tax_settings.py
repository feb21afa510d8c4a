"""The keys of `tax_settings` the product reads are checked on customers and suppliers
alike; any other key is the caller's own, as in Piriod."""

import pytest

from customers.tests.factories import CustomerFactory

RESOURCES = {
    "/customers/": {"name": "ACME SpA", "country": "CL", "tax_id": "76.086.428-5"},
    "/suppliers/": {"name": "Imprenta SpA", "country": "CL", "tax_id": "76086428-5"},
}


@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize("giro", [5, ["Software"], {"a": 1}, True, "x" * 41, "x" * 5000])
def test_a_giro_that_is_no_text_of_at_most_40_characters_is_a_400(tenant, path, giro):
    body = {**RESOURCES[path], "tax_settings": {"cl_activity_description": giro}}

    response = tenant.client.post(path, body, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["tax_settings"]) == ["cl_activity_description"]


@pytest.mark.parametrize("path", RESOURCES)
def test_a_giro_of_40_characters_and_unknown_keys_of_any_kind_are_kept(tenant, path):
    settings = {"cl_activity_description": "x" * 40, "other": [1, {"b": None}], "n": 5}
    body = {**RESOURCES[path], "tax_settings": settings}

    response = tenant.client.post(path, body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["tax_settings"] == settings


def test_a_customer_with_a_giro_stored_before_the_rule_can_still_change_other_fields(tenant):
    customer = CustomerFactory(
        workspace=tenant.workspace, tax_settings={"cl_activity_description": "x" * 80}
    )

    response = tenant.client.patch(
        f"/customers/{customer.pk}/", {"email": "new@acme.cl"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["tax_settings"] == {"cl_activity_description": "x" * 80}
