# The shared fixtures live in tests/conftest.py; importing them here makes them visible
# to the tests inside each app (billing/tests, customers/tests, …) too.
from tests.conftest import (  # noqa: F401
    _ci_runs_on_postgresql,
    other_tenant,
    tenant,
)
from tests.fake_stripe import _no_real_stripe, fake_stripe, fake_stripe_server  # noqa: F401

# Every status the API answers in the run must be in the OpenAPI document.
pytest_plugins = ["tests.openapi_statuses"]
