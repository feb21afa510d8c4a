"""Piriod's four integration flows (one-shot billing, subscriptions, hosted payment links,
procurement) driven by Piriod's Node client through real HTTP: only the client's own
calls, its axios `baseURL` pointed at the live test server."""

import pytest

from tests.conftest import make_tenant
from tests.piriod_client import run_script

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("flow", ["oneShot", "subscriptions", "paymentLinks", "procurement"])
def test_piriod_flow_through_the_node_client(flow, live_server, settings):
    # Links the server hands out (a payment link's hosted page) point at this server.
    settings.PUBLIC_URL = live_server.url
    tenant = make_tenant()

    result = run_script("flows.js", flow, base_url=live_server.url, tenant=tenant)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"flow {flow}: ok" in result.stdout
