"""Which workspace and mode a call acts in: `x-simple-workspace` and `x-piriod-test-mode`."""

import pytest
from rest_framework.test import APIClient

from billing.models import Membership
from billing.tests.factories import MembershipFactory, WorkspaceFactory
from customers.tests.factories import CustomerFactory
from tests.conftest import make_tenant


def client_for(tenant, **headers):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tenant.token}", **headers)
    return client


def test_a_missing_workspace_header_is_a_400(tenant):
    response = client_for(tenant).get("/customers/")

    assert response.status_code == 400
    assert response.json()["code"] == "workspace_required"


def test_a_blank_workspace_header_is_a_400(tenant):
    response = client_for(tenant, HTTP_X_SIMPLE_WORKSPACE="  ").get("/customers/")

    assert response.status_code == 400
    assert response.json()["code"] == "workspace_required"


def test_a_workspace_the_caller_is_not_a_member_of_is_a_403(tenant, other_tenant):
    response = client_for(tenant, HTTP_X_SIMPLE_WORKSPACE=other_tenant.workspace.id).get(
        "/customers/"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "workspace_forbidden"


def test_an_unknown_workspace_is_a_403(tenant):
    response = client_for(tenant, HTTP_X_SIMPLE_WORKSPACE="acc_nope").get("/customers/")

    assert response.status_code == 403


@pytest.mark.parametrize("value", ["yes", "1", "TRUE!", "on"])
def test_a_bad_test_mode_header_is_a_400(tenant, value):
    response = client_for(
        tenant, HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id, HTTP_X_PIRIOD_TEST_MODE=value
    ).get("/customers/")

    assert response.status_code == 400
    assert response.json()["code"] == "test_mode_invalid"


@pytest.mark.parametrize("value", ["true", "True", " TRUE "])
def test_the_test_mode_header_value_is_case_insensitive(tenant, value):
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=True)

    response = client_for(
        tenant, HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id, HTTP_X_PIRIOD_TEST_MODE=value
    ).get("/customers/")

    assert [c["id"] for c in response.json()["results"]] == [customer.id]


def test_header_names_are_case_insensitive(tenant):
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=True)
    headers = {
        "AUTHORIZATION": f"Token {tenant.token}",
        "X-Simple-Workspace": tenant.workspace.id,
        "X-PIRIOD-TEST-MODE": "true",
    }

    response = APIClient().get("/customers/", headers=headers)

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [customer.id]


@pytest.mark.parametrize("object_in_test_mode", [True, False], ids=["test_object", "live_object"])
def test_objects_of_the_other_mode_are_invisible(tenant, object_in_test_mode):
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=object_in_test_mode)
    same_mode = client_for(
        tenant,
        HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id,
        HTTP_X_PIRIOD_TEST_MODE=str(object_in_test_mode).lower(),
    )
    other_mode = client_for(
        tenant,
        HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id,
        HTTP_X_PIRIOD_TEST_MODE=str(not object_in_test_mode).lower(),
    )

    assert [c["id"] for c in same_mode.get("/customers/").json()["results"]] == [customer.id]
    assert same_mode.get(f"/customers/{customer.id}/").json()["test_mode"] is object_in_test_mode
    assert other_mode.get("/customers/").json()["results"] == []
    assert other_mode.get(f"/customers/{customer.id}/").status_code == 404


def test_objects_created_in_test_mode_are_test_mode_objects(tenant):
    client = client_for(
        tenant, HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id, HTTP_X_PIRIOD_TEST_MODE="true"
    )

    response = client.post(
        "/customers/", {"name": "Sandbox", "country": "CL", "tax_id": "76086428-5"}
    )

    assert response.status_code == 201
    assert response.json()["test_mode"] is True
    assert tenant.client.get(f"/customers/{response.json()['id']}/").status_code == 404


# Workspaces


def test_workspaces_lists_the_callers_workspaces_without_a_workspace_header(tenant):
    user = Membership.objects.get(workspace=tenant.workspace).user
    second = WorkspaceFactory(name="A second one")
    MembershipFactory(workspace=second, user=user)
    make_tenant()  # someone else's workspace

    response = client_for(tenant).get("/workspaces/")

    assert response.status_code == 200
    body = response.json()
    assert {w["id"] for w in body["results"]} == {tenant.workspace.id, second.id}
    assert set(body["results"][0]) == {
        "id", "name", "country", "currency", "timezone", "tax_id",
        # The issuer as documents print it (Chile's Emisor).
        "legal_name", "activity_description", "activity_code", "address", "comuna", "city",
        "sii_office", "sii_resolution_number", "sii_resolution_date", "email",
        "logo_url",  # shown on the hosted checkout pages
    }  # fmt: skip


def test_workspaces_needs_authentication():
    response = APIClient().get("/workspaces/")

    assert response.status_code == 401


def test_a_workspace_of_someone_else_is_a_404(tenant, other_tenant):
    response = client_for(tenant).get(f"/workspaces/{other_tenant.workspace.id}/")

    assert response.status_code == 404
