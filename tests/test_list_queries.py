"""Every list endpoint reads a page in a fixed number of queries, however many objects it
holds.

Generated from the URL router as the isolation matrix is (tests/test_isolation.py): each
route whose view is a TenantViewSet and whose GET is `list` is read with one object and
again with several, made by the model's factory (each with the related rows the factory
gives it: lines, plans, a customer), and both reads must cost the same queries. A list
that queried per object (an N+1) costs more the second time. A new list route is covered
the moment it is registered.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.tests.factories import FinalizedInvoiceFactory
from organization.models import Biller
from payments.models import PaymentGateway
from tests.test_isolation import caller_client, discover_tenant_routes, make

MORE = 4  # objects added for the second read: enough to show a query per object

# A tenant holds one gateway connection per kind, and the list provisions the built-in
# sandbox row itself: the first read shows that row, the second adds the Stripe one.
PROVISIONED_BY_THE_LIST = {PaymentGateway}
# A tenant has one tax-agency connection per mode: its list cannot grow.
MORE_OF: dict[type, int] = {PaymentGateway: 1, Biller: 0}
# Pendings are each rule's reminders of invoices with something due: one such invoice makes
# every rule listed there one pending.
NEEDS_AN_INVOICE_DUE = {"reminders/pendings/"}

LIST_ROUTES = [
    pytest.param(route, id=route.display)
    for route in discover_tenant_routes()
    if not route.detail and route.actions.get("get") == "list"
]


def _queries(client, url) -> tuple[int, list[str], int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200, response.content
    return len(captured), [query["sql"] for query in captured], len(response.json()["results"])


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_a_list_page_costs_the_same_queries_for_one_object_and_for_many(route, tenant):
    scope = {"workspace": tenant.workspace, "test_mode": False}
    client = caller_client(tenant, test_mode=False)
    url = reverse(route.name)
    if route.display in NEEDS_AN_INVOICE_DUE:
        FinalizedInvoiceFactory(**scope, due_date=datetime.date.today() + datetime.timedelta(30))
    if route.model not in PROVISIONED_BY_THE_LIST:
        make(route.model, **scope)
    client.get(url)  # warm what is read once per process (reference data caches)

    one, _, listed_one = _queries(client, url)
    more = MORE_OF.get(route.model, MORE)
    for _ in range(more):
        make(route.model, **scope)
    many, sql, listed_many = _queries(client, url)

    assert listed_one >= 1
    assert listed_many == listed_one + more
    assert many == one, f"{route.display}: {one} queries for one object, {many} for more:\n" + (
        "\n".join(sql)
    )


def test_every_list_route_is_covered():
    # A router change that hid the routes from the walk would make this file vacuous.
    displays = {param.values[0].display for param in LIST_ROUTES}
    assert {"customers/", "invoices/", "payments/", "subscriptions/", "purchases/"} <= displays
