"""A read takes the API key's caller from what the process kept under the cache's stamp
(billing/auth_cache.py), and whatever changes who the key is or where it may act takes
effect on the very next request."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import auth_cache
from billing.admin import ApiTokenAdmin
from billing.auth_cache import api_keys_forget, caller_cache_key, caller_kept
from billing.models import ApiToken, Membership, Workspace
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


def post_events(tenant) -> tuple[int, str]:
    """POST /events/bulk/ with one event: its status and the SQL it ran."""
    event = {"event_id": f"evt-{timezone.now().timestamp()}", "event_name": "call",
             "customer": "cus_x", "timestamp": None, "properties": {}}  # fmt: skip
    with CaptureQueriesContext(connection) as captured:
        response = tenant.client.post("/events/bulk/", {"events": [event]}, format="json")
    return response.status_code, " ".join(query["sql"] for query in captured)


def test_a_batch_of_events_takes_its_caller_from_the_cache(tenant):
    first_status, first = post_events(tenant)
    second_status, second = post_events(tenant)

    assert (first_status, second_status) == (202, 202)
    assert '"billing_apitoken"' in first and '"billing_membership"' in first
    assert '"billing_apitoken"' not in second and '"billing_membership"' not in second


def test_a_revoked_key_sends_no_more_events(tenant):
    assert post_events(tenant)[0] == 202

    api_token_issue(user=user_of(tenant), now=timezone.now())

    assert post_events(tenant)[0] == 401


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


def kept(tenant):
    """What this process keeps of the tenant's key under the stamp the cache holds."""
    key_hash = hash_token_key(tenant.token)
    return caller_kept(key_hash, cache.get(caller_cache_key(key_hash)))


def test_a_saved_workspace_is_read_again(tenant):
    read(tenant)
    cached = read(tenant)[1]
    assert kept(tenant).workspaces[tenant.workspace.id].name == tenant.workspace.name

    tenant.workspace.name = "Renamed"
    tenant.workspace.save()

    assert kept(tenant) is None
    assert read(tenant) == (200, cached + 2)
    assert kept(tenant).workspaces[tenant.workspace.id].name == "Renamed"


def test_a_workspace_updated_in_bulk_is_read_again(tenant):
    """update() sends no post_save: a test clock moved (or set back to the real clock)
    this way must be dropped all the same."""
    moved_at = timezone.now().replace(microsecond=0)
    read(tenant)
    cached = read(tenant)[1]

    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_clock_at=moved_at)

    assert kept(tenant) is None
    assert read(tenant) == (200, cached + 2)
    assert kept(tenant).workspaces[tenant.workspace.id].test_clock_at == moved_at

    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_clock_at=None)

    assert kept(tenant) is None
    read(tenant)
    assert kept(tenant).workspaces[tenant.workspace.id].test_clock_at is None


def test_a_bulk_update_that_changes_nothing_drops_nothing(tenant):
    read(tenant)
    cached = read(tenant)[1]

    Workspace.objects.filter(pk=tenant.workspace.pk, test_clock_at__isnull=False).update(
        test_clock_at=timezone.now()
    )

    assert read(tenant) == (200, cached)


def test_a_deleted_workspace_is_refused_at_once(tenant):
    read(tenant)

    Workspace.objects.filter(pk=tenant.workspace.pk).delete()

    response = tenant.client.get("/customers/")
    assert response.status_code == 403
    assert response.json()["code"] == "workspace_forbidden"


def test_a_key_revoked_while_a_read_queried_it_is_refused_on_the_next_read(tenant):
    """The stamp is taken before the database is read, so a revocation that commits
    after the read found the key still active drops what that read kept."""
    key_hash = hash_token_key(tenant.token)
    revoked = []

    def revoke_once_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if '"billing_apitoken"' in sql and not revoked:
            revoked.append(sql)
            ApiToken.objects.filter(key_hash=key_hash).update(revoked_at=timezone.now())
            api_keys_forget([key_hash])
        return result

    with connection.execute_wrapper(revoke_once_read):
        assert read(tenant)[0] == 200  # it found the key before the revocation

    assert revoked
    assert read(tenant)[0] == 401


def test_a_process_that_has_not_read_the_key_keeps_the_stamp_the_cache_holds(tenant):
    """Another process reads the database once and takes the same stamp, instead of
    setting a new one that would make every other process read it again."""
    read(tenant)
    cached = read(tenant)[1]
    stamp_key = caller_cache_key(hash_token_key(tenant.token))
    stamp = cache.get(stamp_key)

    auth_cache._CALLERS.clear()  # as a process that never read the key

    assert read(tenant) == (200, cached + 2)
    assert cache.get(stamp_key) == stamp
    assert read(tenant) == (200, cached)


def test_once_the_stamp_expires_a_read_queries_again(tenant):
    read(tenant)
    cached = read(tenant)[1]

    cache.delete(caller_cache_key(hash_token_key(tenant.token)))  # its seconds are over

    assert read(tenant) == (200, cached + 2)
    assert read(tenant) == (200, cached)


def test_with_no_cache_seconds_every_read_queries(tenant, settings):
    settings.API_KEY_CACHE_SECONDS = 0

    assert read(tenant)[1] == read(tenant)[1]
    assert cache.get(caller_cache_key(hash_token_key(tenant.token))) is None
