"""Authentication: API tokens (stored hashed, one active per user) and JWT."""

import hashlib

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request
from rest_framework.test import APIClient

from billing.auth import _authorization_header
from billing.models import ApiToken, Membership
from billing.services.workspaces import api_token_issue

PASSWORD = "correct horse battery staple"


def user_of(tenant):
    return Membership.objects.get(workspace=tenant.workspace).user


def client_with(**headers):
    client = APIClient()
    client.credentials(**headers)
    return client


def get_customers(tenant, authorization):
    client = client_with(
        HTTP_AUTHORIZATION=authorization, HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id
    )
    return client.get("/customers/")


# API tokens


def test_a_valid_token_is_accepted(tenant):
    response = get_customers(tenant, f"Token {tenant.token}")

    assert response.status_code == 200


def test_no_authorization_is_a_401_with_www_authenticate(tenant):
    response = client_with(HTTP_X_SIMPLE_WORKSPACE=tenant.workspace.id).get("/customers/")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "authorization",
    ["Token not-a-real-key", "Token", "Token two parts", "Bearer not.a.jwt", "Bearer \xff"],
    ids=["unknown_key", "no_key", "spaces", "bad_jwt", "undecodable"],
)
def test_a_bad_token_is_a_401(tenant, authorization):
    response = get_customers(tenant, authorization)

    assert response.status_code == 401
    assert response.json()["code"] in ("authentication_failed", "token_not_valid")


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        ("Token not-a-real-key", "Token"),
        ("Bearer not.a.jwt", 'Bearer realm="api"'),
        ("bearer not.a.jwt", 'Bearer realm="api"'),
        ("Basic Zm9vOmJhcg==", "Token"),
    ],
)
def test_a_refused_credential_is_challenged_in_its_own_scheme(tenant, authorization, challenge):
    # RFC 7235: the challenge tells the client how to authenticate; a Bearer client told
    # `Token` would not know its token was the one refused.
    response = get_customers(tenant, authorization)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge


def test_issuing_a_new_token_revokes_the_old_one(tenant):
    user = user_of(tenant)

    new_key = api_token_issue(user=user, now=timezone.now()).key

    assert get_customers(tenant, f"Token {tenant.token}").status_code == 401
    assert get_customers(tenant, f"Token {new_key}").status_code == 200
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_a_token_of_an_inactive_user_is_a_401(tenant):
    user = user_of(tenant)
    user.is_active = False
    user.save()

    response = get_customers(tenant, f"Token {tenant.token}")

    assert response.status_code == 401


def test_the_authorization_scheme_is_case_insensitive(tenant):
    response = get_customers(tenant, f"token {tenant.token}")

    assert response.status_code == 200


def test_tokens_are_stored_hashed(tenant):
    token = ApiToken.objects.get(user=user_of(tenant), revoked_at__isnull=True)

    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.extend((table, str(row)) for row in cursor.fetchall())

    assert rows, "the scan read nothing"
    assert [table for table, row in rows if tenant.token in row] == []
    assert token.key_hash == hashlib.sha256(tenant.token.encode()).hexdigest()
    assert token.key_prefix == tenant.token[:8]


# JWT


def obtain(body):
    return APIClient().post("/auth/token/", body, format="json")


def test_a_password_is_exchanged_for_a_jwt_pair(tenant):
    user = user_of(tenant)
    user.set_password(PASSWORD)
    user.save()

    response = obtain({"username": user.username, "password": PASSWORD})

    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"access", "refresh"}


def test_an_api_token_is_exchanged_for_a_jwt_pair(tenant):
    response = obtain({"token": tenant.token})

    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_a_bearer_access_token_authenticates(tenant, scheme):
    # RFC 7235: the scheme is case-insensitive (OAuth clients send `bearer`, its token_type).
    access = obtain({"token": tenant.token}).json()["access"]

    response = get_customers(tenant, f"{scheme} {access}")

    assert response.status_code == 200


def test_a_refresh_token_gives_a_new_access_token(tenant):
    refresh = obtain({"token": tenant.token}).json()["refresh"]

    response = APIClient().post("/auth/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 200, response.json()
    assert get_customers(tenant, f"Bearer {response.json()['access']}").status_code == 200


def test_a_bad_refresh_token_is_refused(tenant):
    response = APIClient().post("/auth/token/refresh/", {"refresh": "nope"}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"username": "nobody@example.com", "password": PASSWORD},
        {"password_of": "the tenant's user", "wrong": True},
        {"token": "not-a-key"},
        {"username": "only-a-username"},
        {},
    ],
    ids=["unknown_user", "unknown_fields", "unknown_token", "no_password", "empty"],
)
def test_bad_credentials_are_a_400(tenant, body):
    response = obtain(body)

    assert response.status_code == 400
    assert "access" not in response.json()


def test_a_wrong_password_is_a_400(tenant):
    user = user_of(tenant)
    user.set_password(PASSWORD)
    user.save()

    response = obtain({"username": user.username, "password": "wrong"})

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with these credentials."]}


def test_a_revoked_api_token_cannot_be_exchanged(tenant):
    api_token_issue(user=user_of(tenant), now=timezone.now())

    response = obtain({"token": tenant.token})

    assert response.status_code == 400


# A request that does not take its caller from the cache reads its token and workspace in
# one round trip (billing.auth._token_and_workspace): the same answers as the ORM's reads.


def post_customer(tenant, key, workspace_id):
    client = client_with(HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_SIMPLE_WORKSPACE=workspace_id)
    return client.post(
        "/customers/", {"name": "Acme", "country": "CL", "tax_id": "76.123.456-0"}, format="json"
    )


def test_a_write_reads_the_same_token_user_and_workspace_as_the_orm(tenant):
    from billing.auth import _token_and_workspace
    from billing.models import Workspace

    key_hash = hashlib.sha256(tenant.token.encode()).hexdigest()
    orm_token = ApiToken.objects.select_related("user").get(key_hash=key_hash)

    token, workspace = _token_and_workspace(key_hash, tenant.workspace.id)

    assert (token.pk, token.user_id, token.revoked_at) == (orm_token.pk, orm_token.user_id, None)
    assert token.user.username == orm_token.user.username
    assert token.user.is_active
    assert workspace == tenant.workspace
    fields = [field.attname for field in Workspace._meta.concrete_fields]
    orm_workspace = Workspace.objects.get(pk=tenant.workspace.pk)
    assert {f: getattr(workspace, f) for f in fields} == {
        f: getattr(orm_workspace, f) for f in fields
    }


def test_a_write_to_a_workspace_of_another_user_is_a_403(tenant, other_tenant):
    response = post_customer(tenant, tenant.token, other_tenant.workspace.id)

    assert response.status_code == 403
    assert response.json()["code"] == "workspace_forbidden"


def test_a_write_with_a_revoked_token_is_a_401_and_with_the_new_one_a_201(tenant):
    new_key = api_token_issue(user=user_of(tenant), now=timezone.now()).key

    assert post_customer(tenant, tenant.token, tenant.workspace.id).status_code == 401
    assert post_customer(tenant, new_key, tenant.workspace.id).status_code == 201


def test_a_write_of_an_inactive_user_is_a_401(tenant):
    user = user_of(tenant)
    user.is_active = False
    user.save()

    assert post_customer(tenant, tenant.token, tenant.workspace.id).status_code == 401


def test_a_write_without_a_workspace_is_a_400(tenant):
    response = post_customer(tenant, tenant.token, "")

    assert response.status_code == 400
    assert response.json()["code"] == "workspace_required"


@pytest.mark.parametrize("header", [None, "", "Token abc", "token  a b", "Tökén x", "Bearer e.y.z"])
def test_the_authorization_header_is_read_as_drf_reads_it(rf, header):
    meta = {} if header is None else {"HTTP_AUTHORIZATION": header}
    request = Request(rf.get("/customers/", **meta))

    assert _authorization_header(request) == get_authorization_header(request)
