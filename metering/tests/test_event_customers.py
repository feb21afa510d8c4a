"""The customers a batch's keys name, read by a statement prepared once per session, after
the tenant's usage lock in the same round trip."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.tests.factories import CustomerFactory
from metering.selectors import event_customers
from tests.conftest import make_tenant

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ODD_KEYS = ["it's", "back\\slash", "100%", "%s", "ñandú", "E'x'", "a;b--c", '"q"', "[1]"]


def _customers(workspace_id: str, keys: set[str]) -> dict:  # type: ignore[type-arg]
    return event_customers(
        workspace_id=workspace_id, test_mode=False, keys=keys, event_names={"api_call"}
    )


def test_the_read_is_prepared_once_and_then_executed():
    tenant = make_tenant()
    customer = CustomerFactory(workspace=tenant.workspace, reference="ref-1")
    connection.close()  # a new session, with nothing prepared yet

    with CaptureQueriesContext(connection) as captured:
        first = _customers(tenant.workspace.pk, {customer.pk, "ref-1", "nobody"})
        second = _customers(tenant.workspace.pk, {customer.pk, "ref-1", "nobody"})

    statements = [query["sql"] for query in captured.captured_queries]
    # The lock and the read, each prepared once, then both executed in one round trip.
    assert sum(sql.startswith("PREPARE ") for sql in statements) == 2
    assert statements[-1].startswith("EXECUTE ") and statements[-1].count("EXECUTE ") == 2
    assert first == second
    assert set(first) == {customer.pk, "ref-1"}
    assert first[customer.pk].customer_id == customer.pk


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    references=st.lists(st.sampled_from(ODD_KEYS) | st.text(min_size=1, max_size=8), max_size=6),
    extra=st.lists(st.sampled_from(ODD_KEYS) | st.text(min_size=1, max_size=8), max_size=6),
)
def test_the_prepared_read_answers_as_the_read_bound_by_the_client(references, extra):
    """Prepared (outside a transaction) and run as it is (inside one already started),
    the read finds the same customers under the same keys, whatever text the keys hold."""
    tenant = make_tenant()
    workspace_id = tenant.workspace.pk
    references = [ref.replace("\x00", "") for ref in references if ref.replace("\x00", "")]
    keys = {ref.replace("\x00", "") for ref in extra} - {""}
    ids = set()
    for reference in dict.fromkeys(references):
        customer = CustomerFactory(workspace=tenant.workspace, reference=reference)
        ids.add(customer.pk)
        keys |= {customer.pk, reference}

    prepared = [_customers(workspace_id, keys) for _ in range(2)]
    connection.close()  # a new session, where the read was never prepared
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the transaction started: nothing is prepared in it
        with CaptureQueriesContext(connection) as captured:
            bound = _customers(workspace_id, keys)
    assert not any(q["sql"].startswith("EXECUTE") for q in captured.captured_queries)

    assert prepared == [bound, bound]
    assert set(bound) == {key for key in keys if key in set(references) or key in ids}


def test_a_key_names_at_most_one_customer_and_an_id_wins_over_a_reference():
    tenant = make_tenant()
    named = CustomerFactory(workspace=tenant.workspace)
    # Stored before a reference shaped as our ids was refused.
    CustomerFactory(workspace=tenant.workspace, reference=named.pk)

    found = _customers(tenant.workspace.pk, {named.pk})

    assert found[named.pk].customer_id == named.pk
