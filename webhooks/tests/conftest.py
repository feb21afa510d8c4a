import pytest

from tests.conftest import make_tenant


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(settings):  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def test_tenant(db):  # type: ignore[no-untyped-def]
    """Test mode, where plain-http endpoints (the loopback receiver) are allowed."""
    return make_tenant(test_mode=True)
