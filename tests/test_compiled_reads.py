"""A detail GET runs SQL compiled by an earlier read (billing.compiled_reads) and shows
the object through its serializer's kept plan (billing.representation_plans): it must
answer the same status, headers and bytes as DRF's own retrieve on the queryset compiled
for the request, for every detail route and several states of an object, and find only
the caller's own object."""

import gc
import threading
import weakref
from decimal import Decimal

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import representation_plans, row_plans
from billing.api import viewsets
from billing.bulk import concrete_attnames
from billing.compiled_reads import (
    _KEPT_CURSOR,
    _PREPARED_ON,
    CompiledObjectRead,
    NotCompilable,
    _prepared_name,
    _row_converter,
    _session_cursor,
    compiled_object_read,
)
from invoices.api.views import InvoiceViewSet
from invoices.models import Invoice
from invoices.tests.factories import (
    CreditNoteFactory,
    FinalizedInvoiceFactory,
    InvoiceFactory,
)
from payments.models import PaymentAllocation
from tests.factories import PaymentFactory
from tests.test_detail_queries import DETAIL_ROUTES, grow_related_rows
from tests.test_isolation import caller_client, make

pytestmark = pytest.mark.postgresql

# Routes whose view computes its queryset per request (a clock reading, the workspace's
# timezone) and so reads as Django compiles it.
PER_REQUEST_QUERYSETS = {"customers/{pk}/"}


def _compiled_off(monkeypatch) -> None:
    monkeypatch.setattr(viewsets, "compiled_object_read", lambda key, build, pk: None)


def _lean_off(monkeypatch) -> None:
    """DRF's retrieve on a queryset compiled for the request: the answer to compare with."""
    _compiled_off(monkeypatch)
    monkeypatch.setattr(viewsets.TenantViewSet, "_retrieves_by_plan", lambda self, request: False)


# The same request id on both sides: it is the one header that differs by request.
REQUEST_ID = {"HTTP_X_REQUEST_ID": "req_same"}


def _answer(response) -> tuple[int, dict[str, str], bytes]:
    return response.status_code, dict(response.headers), response.content


def _lean_and_drf(client, url, monkeypatch) -> tuple[tuple, tuple]:
    client.get(url, **REQUEST_ID)  # compiles and plans, when the route can be
    lean = _answer(client.get(url, **REQUEST_ID))
    with monkeypatch.context() as patched:
        _lean_off(patched)
        drf = _answer(client.get(url, **REQUEST_ID))
    return lean, drf


@pytest.mark.parametrize("route", DETAIL_ROUTES)
def test_a_detail_read_answers_as_drfs_retrieve(route, tenant, monkeypatch):
    client = caller_client(tenant, test_mode=False)
    obj = make(route.model, workspace=tenant.workspace, test_mode=False)
    url = reverse(route.name, kwargs={"pk": obj.pk})

    alone_lean, alone_drf = _lean_and_drf(client, url, monkeypatch)
    grow_related_rows(obj)
    grown_lean, grown_drf = _lean_and_drf(client, url, monkeypatch)

    assert alone_lean[0] == 200, alone_lean[2]
    assert alone_lean == alone_drf
    assert grown_lean == grown_drf


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("route", DETAIL_ROUTES)
def test_a_prepared_detail_read_answers_as_drfs_retrieve(route, tenant, monkeypatch):
    # Outside a transaction, as a server's reads run, a compiled read is prepared once
    # per database session and run with EXECUTE.
    client = caller_client(tenant, test_mode=False)
    obj = make(route.model, workspace=tenant.workspace, test_mode=False)
    grow_related_rows(obj)
    url = reverse(route.name, kwargs={"pk": obj.pk})

    lean, drf = _lean_and_drf(client, url, monkeypatch)

    assert lean[0] == 200, lean[2]
    assert lean == drf
    if route.display not in PER_REQUEST_QUERYSETS:
        read = compiled_object_read(
            (route.viewset, (), tenant.workspace.pk, False), _not_kept, obj.pk
        )
        assert read is not None, route.display
        name = _prepared_name(read.read.sql, len(read.read.params))
        assert name in _PREPARED_ON[connection.connection], route.display


def _paid(invoice):
    payment = PaymentFactory(workspace=invoice.workspace, customer=invoice.customer)
    PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount=Decimal(500), amount_refunded=Decimal(100)
    )
    return invoice


INVOICE_STATES = {
    "draft": lambda workspace: InvoiceFactory(workspace=workspace),
    "finalized": lambda workspace: FinalizedInvoiceFactory(workspace=workspace),
    "paid in part": lambda workspace: _paid(FinalizedInvoiceFactory(workspace=workspace)),
    "credited": lambda workspace: (
        CreditNoteFactory(
            workspace=workspace, invoice=FinalizedInvoiceFactory(workspace=workspace)
        ).invoice
    ),
    "uncollectible": lambda workspace: FinalizedInvoiceFactory(
        workspace=workspace, uncollectible_at=timezone.now()
    ),
}


@pytest.mark.parametrize("state", INVOICE_STATES)
def test_an_invoice_in_each_state_reads_as_drfs_retrieve(state, tenant, monkeypatch):
    invoice = INVOICE_STATES[state](tenant.workspace)

    lean, drf = _lean_and_drf(tenant.client, f"/invoices/{invoice.pk}/", monkeypatch)

    assert lean[0] == 200, lean[2]
    assert lean == drf


@pytest.mark.parametrize(
    "url", ["/invoices/inv_missing/", "/invoices/{pk}/?expand=customer", "/invoices/{pk}/?x=1"]
)
def test_what_the_plan_does_not_show_answers_as_drfs_retrieve(url, tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)

    lean, drf = _lean_and_drf(tenant.client, url.format(pk=invoice.pk), monkeypatch)

    assert lean == drf


def test_a_plain_detail_read_is_shown_through_the_plan(tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    shown = []
    planned = representation_plans.planned_representation
    monkeypatch.setattr(
        viewsets,
        "planned_representation",
        lambda *args: shown.append(args[1].pk) or planned(*args),
    )
    from_rows = row_plans.row_representation
    monkeypatch.setattr(
        viewsets,
        "row_representation",
        lambda *args: shown.append(args[1].own_instance().pk) or from_rows(*args),
    )

    assert tenant.client.get(f"/invoices/{invoice.pk}/").status_code == 200
    assert tenant.client.get(f"/invoices/{invoice.pk}/?expand=customer").status_code == 200

    assert shown == [invoice.pk]


@pytest.mark.parametrize("route", DETAIL_ROUTES)
def test_a_compiled_detail_read_answers_the_same_bytes(route, tenant, monkeypatch):
    scope = {"workspace": tenant.workspace, "test_mode": False}
    client = caller_client(tenant, test_mode=False)
    obj = make(route.model, **scope)
    grow_related_rows(obj)
    url = reverse(route.name, kwargs={"pk": obj.pk})

    client.get(url)  # compiles, when the route's queryset can be
    compiled = client.get(url)
    with monkeypatch.context() as patched:
        _compiled_off(patched)
        plain = client.get(url)

    assert compiled.status_code == plain.status_code == 200, compiled.content
    assert compiled.content == plain.content


def _not_kept():
    pytest.fail("the first read did not keep its compiled read")


def test_the_static_detail_routes_are_compiled(tenant):
    client = caller_client(tenant, test_mode=False)
    for param in DETAIL_ROUTES:
        route = param.values[0]
        obj = make(route.model, workspace=tenant.workspace, test_mode=False)
        assert client.get(reverse(route.name, kwargs={"pk": obj.pk})).status_code == 200
        if route.display in PER_REQUEST_QUERYSETS:
            continue
        read = compiled_object_read(
            (route.viewset, (), tenant.workspace.pk, False), _not_kept, obj.pk
        )
        assert isinstance(read, CompiledObjectRead), route.display


def test_an_invoice_reads_in_two_queries_with_its_lines_and_payments(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    payment = PaymentFactory(workspace=tenant.workspace, customer=invoice.customer)
    PaymentAllocation.objects.create(
        payment=payment, invoice=invoice, amount=Decimal(1190), amount_refunded=Decimal(0)
    )
    url = f"/invoices/{invoice.pk}/"
    tenant.client.get(url)

    with CaptureQueriesContext(connection) as captured:
        response = tenant.client.get(url)

    assert response.status_code == 200
    assert len(response.json()["lines"]) == invoice.lines.count() > 0
    assert len(response.json()["payments"]) == 1
    # The caller's key with its workspace (the tests keep no API key cache) in one round
    # trip, the invoice with its amount due and payments together with its lines in another.
    assert len(captured) == 2, "\n".join(query["sql"] for query in captured)


def test_an_expanded_invoice_answers_the_same_bytes(tenant, monkeypatch):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/?expand=customer"
    tenant.client.get(url)

    compiled = tenant.client.get(url)
    _compiled_off(monkeypatch)
    plain = tenant.client.get(url)

    assert compiled.status_code == 200
    assert compiled.json()["customer"]["id"] == invoice.customer_id
    assert compiled.content == plain.content


def test_a_compiled_read_finds_only_the_callers_object(tenant, other_tenant):
    own = FinalizedInvoiceFactory(workspace=tenant.workspace)
    foreign = FinalizedInvoiceFactory(workspace=other_tenant.workspace)
    test_mode = FinalizedInvoiceFactory(workspace=tenant.workspace, test_mode=True)
    assert tenant.client.get(f"/invoices/{own.pk}/").status_code == 200

    assert tenant.client.get(f"/invoices/{foreign.pk}/").status_code == 404
    assert tenant.client.get(f"/invoices/{test_mode.pk}/").status_code == 404
    assert tenant.client.get("/invoices/inv_missing/").status_code == 404
    assert other_tenant.client.get(f"/invoices/{foreign.pk}/").json()["id"] == foreign.pk
    assert Invoice.objects.filter(pk=own.pk).exists()


def test_each_workspace_reads_through_a_compiled_read_of_its_own(tenant, other_tenant):
    # A queryset may carry a workspace's own values (its timezone) as parameters.
    own = FinalizedInvoiceFactory(workspace=tenant.workspace)
    foreign = FinalizedInvoiceFactory(workspace=other_tenant.workspace)
    assert tenant.client.get(f"/invoices/{own.pk}/").status_code == 200
    assert other_tenant.client.get(f"/invoices/{foreign.pk}/").status_code == 200

    reads = [
        compiled_object_read((InvoiceViewSet, (), caller.workspace.pk, False), _not_kept, pk)
        for caller, pk in ((tenant, own.pk), (other_tenant, foreign.pk))
    ]

    assert all(isinstance(read, CompiledObjectRead) for read in reads)
    assert reads[0] is not reads[1]


def _fields(instance) -> dict:
    """An instance's values and loading state, without what caches hold."""
    values = {
        k: v for k, v in vars(instance).items() if k not in ("_state", "_prefetched_objects_cache")
    }
    return {**values, "_state": (instance._state.adding, instance._state.db)}


def test_a_compiled_read_makes_the_instances_django_makes(tenant):
    # Its own row goes straight into the instance (billing.bulk.plain_instance).
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    queryset = InvoiceViewSet.queryset.filter(workspace=tenant.workspace, test_mode=False)
    read = CompiledObjectRead(queryset, {"workspace": tenant.workspace.pk}, invoice.pk)

    found = read.find({"workspace": tenant.workspace.pk, "pk": invoice.pk})
    django = queryset.get(pk=invoice.pk)

    assert found is not None
    assert read.read.init_list == concrete_attnames(Invoice)  # the row is complete
    for made in (found.own_instance(), found.instance()):
        assert type(made) is Invoice
        assert _fields(made) == _fields(django)
        assert _fields(made.document) == _fields(django.document)
    assert list(found.instance().lines.all()) == list(django.lines.all())


def test_a_queryset_with_a_clock_reading_is_not_compiled(tenant):
    # Compiled once, the reading would be frozen at the first request's time.
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    queryset = Invoice.objects.filter(workspace=tenant.workspace, date__lte=timezone.localdate())

    with pytest.raises(NotCompilable):
        CompiledObjectRead(queryset, {"workspace": tenant.workspace.pk}, invoice.pk)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_healthy_connection_is_not_checked_with_a_query_of_its_own(tenant, monkeypatch, settings):
    # With the caller cached, the read is the request's first use of the connection.
    settings.API_KEY_CACHE_SECONDS = 5
    cache.clear()
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/"
    tenant.client.get(url)
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    connection.health_check_done = False  # what a new request starts with

    response = tenant.client.get(url)

    assert response.status_code == 200
    assert checks == []
    assert connection.health_check_done


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_read_on_a_connection_the_server_closed_answers_on_a_new_one(tenant, settings):
    settings.API_KEY_CACHE_SECONDS = 5  # the read is the request's first use of it
    cache.clear()
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/"
    first = tenant.client.get(url)
    killed = connection.connection.info.backend_pid
    with psycopg.connect(**_admin_params()) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [killed])
    connection.health_check_done = False  # what a new request starts with

    again = tenant.client.get(url)

    assert again.status_code == 200
    assert again.content == first.content
    assert connection.connection.info.backend_pid != killed


def _admin_params() -> dict:
    params = connection.get_connection_params()
    return {key: params[key] for key in ("dbname", "host", "port", "user") if key in params}


def _typed(row) -> list:
    """A row's values with their types and, for a datetime, its zone object."""
    return [(type(value), value, getattr(value, "tzinfo", None)) for value in row]


def test_a_read_on_the_sessions_cursor_gives_the_values_djangos_cursor_gives(tenant):
    # Timestamps loaded by psycopg's own loader, JSON decoded by a decoder made once.
    invoice = _paid(FinalizedInvoiceFactory(workspace=tenant.workspace, metadata={"k": "v"}))
    queryset = InvoiceViewSet.queryset.filter(workspace=tenant.workspace, test_mode=False)
    read = CompiledObjectRead(queryset, {"workspace": tenant.workspace.pk}, invoice.pk)
    values = {"workspace": tenant.workspace.pk, "pk": invoice.pk}
    read.find(values)  # compiles the lines' read

    on_session = read.find(values)
    with CaptureQueriesContext(connection):  # logged: Django's cursor
        on_django = read.find(values)

    assert getattr(connections["default"], _KEPT_CURSOR, None) is not None
    assert on_session is not None and on_django is not None
    assert _typed(on_session.row) == _typed(on_django.row)
    assert on_session.prefetched == on_django.prefetched
    assert on_session.row[read.read.columns()["metadata"]] == {"k": "v"}
    (payment,) = on_session.row[read.read.columns()["payments_json"]]
    assert payment["status"] == "succeeded"
    assert connection.timezone in {value.tzinfo for value in on_session.row if _is_time(value)}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_that_kept_a_cursor_goes_with_its_thread(tenant):
    # A server that starts a thread per request (runserver) leaves each thread's
    # connection, and the reads compiled on it, to be freed with the thread; kept
    # alive, each held a PostgreSQL session open until the server ran out of them.
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    values = {"workspace": tenant.workspace.pk, "pk": invoice.pk}
    seen: list = []

    def request() -> None:
        own = connections["default"]  # this thread's own connection
        queryset = InvoiceViewSet.queryset.filter(workspace=tenant.workspace, test_mode=False)
        read = CompiledObjectRead(queryset, {"workspace": tenant.workspace.pk}, invoice.pk)
        assert read.find(values) is not None
        assert getattr(own, _KEPT_CURSOR, None) is not None
        seen.append((weakref.ref(own), weakref.ref(own.connection)))

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    gc.collect()

    ((wrapper, session),) = seen
    assert wrapper() is None and session() is None


def _is_time(value) -> bool:
    return type(value).__name__ == "datetime"


def test_a_session_in_another_zone_reads_through_djangos_cursor(tenant):
    # psycopg's own loader would give the session's zone, not the one Django sets.
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    queryset = InvoiceViewSet.queryset.filter(workspace=tenant.workspace, test_mode=False)
    read = CompiledObjectRead(queryset, {"workspace": tenant.workspace.pk}, invoice.pk)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/Santiago'")  # undone with the test's transaction

    found = read.find({"workspace": tenant.workspace.pk, "pk": invoice.pk})

    assert _session_cursor(connections["default"]) is None
    assert found is not None
    zones = {value.tzinfo for value in found.row if _is_time(value)}
    assert zones == {connection.timezone}


@pytest.mark.parametrize(
    "text", ['{"amount": 1.50, "count": 2}', "[1E+2, -0.0, 3]", "{}", "\ufeff{}", "not json", None]
)
def test_a_json_column_decodes_as_its_field_decodes(text):
    # Fractions as exact Decimals (the columns' decoder); what json.loads refuses as it is.
    field = Invoice._meta.get_field("metadata")
    convert = _row_converter(field.get_db_converters(connection), None, connection)

    assert _typed_deep(convert(text)) == _typed_deep(field.from_db_value(text, None, connection))


def _typed_deep(value):
    if isinstance(value, dict):
        return {key: _typed_deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed_deep(item) for item in value]
    return (type(value), str(value))
