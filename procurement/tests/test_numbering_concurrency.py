"""G2 for self-issued documents: factura de compra (46) and boletas de honorarios (BTE)
finalized concurrently on real PostgreSQL, some rolled back, are numbered exactly 1..N."""

import datetime
import random
import threading
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.models import DocumentType
from procurement.choices import ProcurementStatus
from procurement.models import Purchase, Retention
from procurement.services.purchases import purchase_create, purchase_finalize
from procurement.services.retentions import retention_create, retention_finalize
from procurement.tests.factories import SupplierFactory
from tests.conftest import make_tenant

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class RollBack(Exception):
    pass


def test_concurrent_self_issued_finalizes_are_gapless():
    if connection.vendor != "postgresql":
        pytest.fail("row locks are needed: run this on PostgreSQL")
    tenant = make_tenant()
    workspace = tenant.workspace
    supplier = SupplierFactory(workspace=workspace)
    factura_de_compra = DocumentType.objects.get(pk=46)
    day = datetime.date(2026, 5, 4)
    drafts: list[Purchase | Retention] = [
        purchase_create(
            workspace=workspace,
            test_mode=False,
            supplier=supplier,
            document=factura_de_compra,
            date=day,
            lines=[{"name": "Fruta", "amount": Decimal(5000)}],
        )
        for _ in range(24)
    ]
    drafts += [
        retention_create(
            workspace=workspace, test_mode=False, supplier=supplier, date=day, amount=Decimal(1000)
        )
        for _ in range(16)
    ]
    random.Random(11).shuffle(drafts)
    doomed = {draft.pk for draft in drafts[::4]}  # every fourth rolls back after numbering
    queue = list(drafts)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    draft = queue.pop()
                try:
                    with transaction.atomic():
                        if isinstance(draft, Purchase):
                            purchase_finalize(purchase=draft, now=timezone.now())
                        else:
                            retention_finalize(retention=draft, now=timezone.now())
                        if draft.pk in doomed:
                            raise RollBack()
                except RollBack:
                    pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = defaultdict(list)
    for model in (Purchase, Retention):
        for document_id, number in model.objects.filter(
            status=ProcurementStatus.FINALIZED
        ).values_list("document_id", "number"):
            numbers[document_id].append(number)
    committed = defaultdict(int)
    for draft in drafts:
        if draft.pk not in doomed:
            committed[draft.document_id] += 1
    assert sum(committed.values()) == 30 and committed[46] and committed[900]
    for document_id, count in committed.items():
        assert sorted(numbers[document_id]) == list(range(1, count + 1))
    # The rolled-back ones are still drafts, without a number.
    assert not Purchase.objects.filter(pk__in=doomed, number__isnull=False).exists()
    assert not Retention.objects.filter(pk__in=doomed, number__isnull=False).exists()
