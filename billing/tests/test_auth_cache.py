"""A read takes the API key's caller from the cache (billing/auth_cache.py), and whatever
changes who the key is or where it may act takes effect on the very next request."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.admin import ApiTokenAdmin
from billing.auth_cache import caller_cache_key
from billing.models import ApiToken, Membership
from billing.services.workspaces import api_token_issue, hash_token_key


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.API_KEY_CACHE_SECONDS = 5
    cache.clear()
    yield
    cache.clear()


def user_of(tenant):
    return Membership.objects.get(workspace=tenant.workspace).user


def read(tenant) -> tuple[int, int]:
    """GET /customers/: its status and how many queries it made."""
    with CaptureQueriesContext(connection) as captured:
        response = tenant.client.get("/customers/")
    return response.status_code, len(captured)


def test_a_second_read_does_not_query_for_the_key_or_the_workspace(tenant):
    first_status, first = read(tenant)
    second_status, second = read(tenant)

    assert (first_status, second_status) == (200, 200)
    # The token (with its user) and the workspace membership.
    assert first - second == 2


def test_a_write_reads_the_key_from_the_database(tenant):
    read(tenant)

    with CaptureQueriesContext(connection) as captured:
        response = tenant.client.post("/customers/", {}, format="json")

    assert response.status_code == 400  # authenticated; the body is what is wrong
    tables = " ".join(query["sql"] for query in captured)
    assert '"billing_apitoken"' in tables and '"billing_membership"' in tables


def test_a_key_revoked_by_issuing_a_new_one_stops_working_at_once(tenant):
    assert read(tenant)[0] == 200

    new_key = api_token_issue(user=user_of(tenant), now=timezone.now()).key

    assert read(tenant)[0] == 401
    tenant.client.credentials(
        HTTP_AUTHORIZATION=f"Token {new_key}", HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id
    )
    assert read(tenant)[0] == 200


def test_a_key_revoked_in_the_admin_stops_working_at_once(tenant, rf):
    assert read(tenant)[0] == 200

    tokens = ApiToken.objects.filter(key_hash=hash_token_key(tenant.token))
    ApiTokenAdmin(ApiToken, None).revoke(rf.post("/"), tokens)

    assert read(tenant)[0] == 401


def test_a_deactivated_user_is_refused_at_once(tenant):
    assert read(tenant)[0] == 200

    user = user_of(tenant)
    user.is_active = False
    user.save()

    assert read(tenant)[0] == 401


def test_a_removed_member_is_refused_at_once(tenant):
    assert read(tenant)[0] == 200

    Membership.objects.get(workspace=tenant.workspace).delete()

    assert read(tenant)[0] == 403


def test_a_saved_workspace_is_read_again(tenant):
    assert read(tenant)[0] == 200
    key = caller_cache_key(hash_token_key(tenant.token))
    assert tenant.workspace.id in cache.get(key).workspaces

    tenant.workspace.name = "Renamed"
    tenant.workspace.save()

    assert cache.get(key) is None
    assert read(tenant)[0] == 200
    assert cache.get(key).workspaces[tenant.workspace.id].name == "Renamed"


def test_with_no_cache_seconds_every_read_queries(tenant, settings):
    settings.API_KEY_CACHE_SECONDS = 0

    assert read(tenant)[1] == read(tenant)[1]
    assert cache.get(caller_cache_key(hash_token_key(tenant.token))) is None
