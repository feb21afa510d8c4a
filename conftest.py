# The shared fixtures live in tests/conftest.py; importing them here makes them visible
# to the tests inside each app (billing/tests, customers/tests, …) too.
import pytest
from django.db import connection

from tests.conftest import (  # noqa: F401
    _ci_runs_on_postgresql,
    other_tenant,
    tenant,
)
from tests.fake_stripe import _no_real_stripe, fake_stripe, fake_stripe_server  # noqa: F401

# Every status the API answers in the run must be in the OpenAPI document.
pytest_plugins = ["tests.openapi_statuses"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test of PostgreSQL's own SQL, locks or sessions is skipped on another database
    (`make test` on SQLite); CI runs the whole suite on PostgreSQL (tests/conftest.py)."""
    if item.get_closest_marker("postgresql") and connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, not {connection.vendor}")
