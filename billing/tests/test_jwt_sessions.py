"""JWT sessions: revoking the API token they came from ends them; refresh tokens rotate,
are single use, and a reused one ends its whole family."""

from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Membership
from billing.services.workspaces import api_token_issue


def obtain(tenant):
    response = APIClient().post("/auth/token/", {"token": tenant.token}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token):
    return APIClient().post("/auth/token/refresh/", {"refresh": token}, format="json")


def customers_with(tenant, access):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id
    )
    return client.get("/customers/")


def test_revoking_the_api_token_revokes_the_jwts_minted_from_it(tenant):
    pair = obtain(tenant)
    assert customers_with(tenant, pair["access"]).status_code == 200

    user = Membership.objects.get(workspace=tenant.workspace).user
    api_token_issue(user=user, now=timezone.now())  # revokes the tenant's token

    assert customers_with(tenant, pair["access"]).status_code == 401
    assert refresh(pair["refresh"]).status_code == 401


def test_a_refresh_returns_a_new_pair_and_the_old_refresh_token_is_used_up(tenant):
    pair = obtain(tenant)

    first = refresh(pair["refresh"])

    assert first.status_code == 200, first.content
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != pair["refresh"]
    assert customers_with(tenant, first.json()["access"]).status_code == 200
    second = refresh(first.json()["refresh"])
    assert second.status_code == 200


def test_a_reused_refresh_token_revokes_the_whole_family(tenant):
    pair = obtain(tenant)
    rotated = refresh(pair["refresh"]).json()

    reused = refresh(pair["refresh"])

    assert reused.status_code == 401
    assert refresh(rotated["refresh"]).status_code == 401
    assert customers_with(tenant, rotated["access"]).status_code == 401
    assert customers_with(tenant, pair["access"]).status_code == 401


def test_other_sessions_of_the_same_token_are_untouched_by_a_reuse(tenant):
    stolen = obtain(tenant)
    other = obtain(tenant)
    refresh(stolen["refresh"])

    refresh(stolen["refresh"])

    assert customers_with(tenant, other["access"]).status_code == 200
    assert refresh(other["refresh"]).status_code == 200
