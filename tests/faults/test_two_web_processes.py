"""Two web processes and two workers on one database: invoices created and finalized
through both servers at once, while the workers bill a cycle on the same numbering, take
numbers 1..N with no gap and no duplicate (G2)."""

import threading

import httpx
import pytest

from invoices.models import Invoice
from subscriptions.tasks import run_billing_cycles
from tests.factories import CustomerFactory
from tests.faults.arrange import add_due_subscriptions
from tests.faults.helpers import sweeping, wait_until, worker_env
from tests.faults.web import running_web
from tests.workers import running_worker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CLIENTS_PER_SERVER = 3
INVOICES_PER_CLIENT = 4
SUBSCRIPTIONS = 60


def invoice_body(customer_id: str) -> dict[str, object]:
    return {
        "customer": customer_id,
        "document": 33,
        "date": "2026-03-31",
        "lines": [{"name": "Plan Pro", "amount": "10000", "quantity": "3"}],
    }


def test_two_servers_and_two_workers_keep_numbers_gapless(tenant, broker, tmp_path, figures):
    workspace = tenant.workspace
    customer = CustomerFactory(workspace=workspace, test_mode=False)
    add_due_subscriptions(workspace, SUBSCRIPTIONS)
    env = worker_env(tmp_path / "media")
    failures: list[str] = []
    finalized: list[int] = []
    lock = threading.Lock()

    def create_and_finalize(base_url: str) -> None:
        with httpx.Client(base_url=base_url, headers=tenant.headers, timeout=60) as client:
            for _ in range(INVOICES_PER_CLIENT):
                created = client.post("/invoices/", json=invoice_body(customer.id))
                if created.status_code != 201:
                    with lock:
                        failures.append(f"create {created.status_code} {created.text[:200]}")
                    continue
                done = client.post(f"/invoices/{created.json()['id']}/finalize/")
                with lock:
                    if done.status_code == 200:
                        finalized.append(done.json()["number"])
                    else:
                        failures.append(f"finalize {done.status_code} {done.text[:200]}")

    with (
        running_web(tmp_path, 2) as urls,
        running_worker(tmp_path, extra_env=env),
        running_worker(tmp_path, extra_env=env),
        sweeping([run_billing_cycles], every=0.5),
    ):
        threads = [
            threading.Thread(target=create_and_finalize, args=(url,))
            for url in urls
            for _ in range(CLIENTS_PER_SERVER)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        billed = Invoice.objects.filter(workspace=workspace, subscription_id__isnull=False)
        wait_until(
            lambda: billed.count() >= SUBSCRIPTIONS, timeout=120, what="the cycle", every=0.5
        )

    tries = len(urls) * CLIENTS_PER_SERVER * INVOICES_PER_CLIENT + SUBSCRIPTIONS
    numbers = sorted(
        Invoice.objects.filter(workspace=workspace, test_mode=False, document_id=33)
        .exclude(number__isnull=True)
        .values_list("number", flat=True)
    )
    figures(
        tries=tries,
        held=len(set(numbers)),
        lost=tries - len(set(numbers)),
        duplicates=len(numbers) - len(set(numbers)),
        gaps=(max(numbers) - len(set(numbers))) if numbers else 0,
        failures=len(failures),
    )
    assert not failures, failures[:5]
    assert numbers == list(range(1, tries + 1))
    assert sorted(finalized) == sorted(set(finalized))
