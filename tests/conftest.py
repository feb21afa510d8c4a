import os
from dataclasses import dataclass

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Workspace
from billing.services.workspaces import api_token_issue
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.numbers import ExactJSONClient


@pytest.fixture(autouse=True, scope="session")
def _ci_runs_on_postgresql(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """In CI the suite must run on PostgreSQL; a silent fallback to SQLite is a failure."""
    if os.environ.get("CI") == "true":
        with django_db_blocker.unblock():
            vendor = connection.vendor
        if vendor != "postgresql":
            pytest.exit(f"CI must run on PostgreSQL, not {vendor}: set DATABASE_URL", returncode=3)


@dataclass
class Tenant:
    """A workspace, a member of it with an API token, and a client sending its headers."""

    workspace: Workspace
    token: str
    client: APIClient
    test_mode: bool = False

    @property
    def headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Token {self.token}",
            "x-simple-workspace": self.workspace.id,
        }
        if self.test_mode:
            headers["x-piriod-test-mode"] = "true"
        return headers


def make_tenant(*, country: str = "CL", test_mode: bool = False) -> Tenant:
    workspace = WorkspaceFactory(country_id=country)
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user)
    token = api_token_issue(user=user, now=timezone.now()).key
    client = ExactJSONClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_X_SIMPLE_WORKSPACE=workspace.id,
        HTTP_X_PIRIOD_TEST_MODE="true" if test_mode else "false",
    )
    return Tenant(workspace=workspace, token=token, client=client, test_mode=test_mode)


@pytest.fixture
def tenant(db) -> Tenant:  # type: ignore[no-untyped-def]
    return make_tenant()


@pytest.fixture
def other_tenant(db) -> Tenant:  # type: ignore[no-untyped-def]
    return make_tenant()
