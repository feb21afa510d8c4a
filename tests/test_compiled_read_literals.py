"""A compiled read's parameters written into its EXECUTE as SQL literals
(billing.compiled_reads._literals): JSON values, which cannot be hashed, are kept under
the object itself."""

import gc

import pytest
from django.db import connection
from psycopg.types.json import Jsonb

from billing import compiled_reads

pytestmark = pytest.mark.postgresql


@pytest.mark.django_db
def test_a_json_parameter_is_written_as_its_own_literal():
    with connection.cursor() as cursor:
        session = connection.connection
        empty, one = Jsonb([]), Jsonb({"a": 1})

        assert compiled_reads._literals(session, cursor, [empty, one, "x"]) == [
            "'[]'::jsonb",
            """'{"a": 1}'::jsonb""",
            "'x'",
        ]
        # Kept: written again from what was kept, the same.
        assert compiled_reads._literals(session, cursor, [one]) == ["""'{"a": 1}'::jsonb"""]

        # Another object, even where a dropped one was, is written anew.
        del empty, one
        gc.collect()
        others = [Jsonb({"b": n}) for n in range(50)]
        assert compiled_reads._literals(session, cursor, others) == [
            f"""'{{"b": {n}}}'::jsonb""" for n in range(50)
        ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_prepared_read_with_a_json_parameter_is_written_as_literals(tenant, monkeypatch):
    # An invoice's read compares its payments with an empty JSON list. Outside a
    # transaction, as a server's reads run, it is prepared and run with EXECUTE.
    from invoices.tests.factories import FinalizedInvoiceFactory

    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    url = f"/invoices/{invoice.pk}/"
    tenant.client.get(url)  # compiles
    executed = []
    execute = compiled_reads._execute_once

    def spy(db, statements):
        executed.append(statements)
        return execute(db, statements)

    monkeypatch.setattr(compiled_reads, "_execute_once", spy)
    literals = []
    written = compiled_reads._literals
    monkeypatch.setattr(
        compiled_reads,
        "_literals",
        lambda *args: literals.append(written(*args)) or literals[-1],
    )

    assert tenant.client.get(url).status_code == 200

    assert executed
    assert literals and None not in literals
