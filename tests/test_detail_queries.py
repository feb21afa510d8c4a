"""Every detail endpoint reads its object in a fixed number of queries, however many rows
hang off it (an invoice's lines, an order's items, a customer's contacts).

Generated from the URL router as the list side is (tests/test_list_queries.py): each
route whose view is a TenantViewSet and whose GET is `retrieve` reads an object made by
the model's factory, then the same object again after every one-to-many relation that
has rows was given MORE copies of them. Both reads must cost the same queries; a
representation that queried per related row (an N+1) costs more the second time. A new
detail route is covered the moment it is registered.
"""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.models import Invoice
from tests.test_isolation import caller_client, discover_tenant_routes, make

MORE = 4  # copies added to each related row: enough to show a query per row

DETAIL_ROUTES = [
    pytest.param(route, id=route.display)
    for route in discover_tenant_routes()
    if route.detail and route.actions.get("get") == "retrieve"
]


def _queries(client, url) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured), [query["sql"] for query in captured]


def grow_related_rows(obj: Model) -> list[str]:
    """Copy each row of the object's one-to-many relations MORE times; the names of the
    relations that grew. A relation whose rows cannot be copied as they are (a unique
    column) is left as it is."""
    grown = []
    for relation in obj._meta.related_objects:
        if not relation.one_to_many:
            continue
        rows = list(getattr(obj, relation.get_accessor_name()).all())
        if not rows:
            continue
        try:
            with transaction.atomic():
                for row in rows:
                    for _ in range(MORE):
                        row.pk = None
                        pk_field = row._meta.pk
                        if pk_field.has_default():
                            setattr(row, pk_field.attname, pk_field.get_default())
                        row._state.adding = True
                        row.save(force_insert=True)
        except IntegrityError:
            continue
        grown.append(relation.get_accessor_name())
    return grown


@pytest.mark.parametrize("route", DETAIL_ROUTES)
def test_a_detail_read_costs_the_same_queries_however_many_related_rows(route, tenant):
    scope = {"workspace": tenant.workspace, "test_mode": False}
    client = caller_client(tenant, test_mode=False)
    obj = make(route.model, **scope)
    url = reverse(route.name, kwargs={"pk": obj.pk})
    client.get(url)  # warm what is read once per process (reference data caches)

    before, _ = _queries(client, url)
    grown = grow_related_rows(obj)
    after, sql = _queries(client, url)

    assert after == before, (
        f"{route.display}: {before} queries, {after} after growing {grown}:\n" + "\n".join(sql)
    )


def test_an_invoice_with_more_lines_reads_in_the_same_queries(tenant):
    # The generated test grows an invoice's lines only if its factory gives it some.
    client = caller_client(tenant, test_mode=False)
    invoice = make(Invoice, workspace=tenant.workspace, test_mode=False)
    assert invoice.lines.exists()
    url = reverse("invoice-detail", kwargs={"pk": invoice.pk})
    client.get(url)

    before, _ = _queries(client, url)
    assert "lines" in grow_related_rows(invoice)
    after, _ = _queries(client, url)

    assert after == before
    assert len(client.get(url).json()["lines"]) == invoice.lines.count()


def test_every_detail_route_is_covered():
    displays = {param.values[0].display for param in DETAIL_ROUTES}
    assert {"customers/{pk}/", "invoices/{pk}/", "payments/{pk}/", "subscriptions/{pk}/"} <= (
        displays
    )
