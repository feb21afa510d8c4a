"""The Flexprice guide's flow end to end on PostgreSQL with a real Celery worker and beat:
feature → tiered plan → customer → subscription → events (single and bulk) → usage
query → period end → invoice with the fixed and the usage line, finalized and paid by the
default card."""

import time
from decimal import Decimal

import pytest

from billing.models import Workspace
from customers.models import Customer
from invoices.models import Invoice
from payments.gateways import sandbox
from payments.services import source_create_sandbox_card
from subscriptions.choices import CollectionStatus
from subscriptions.models import BilledPeriod
from subscriptions.tests.helpers import santiago
from tests.conftest import make_tenant
from tests.workers import require_worker_services, running_worker, use_test_broker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _wait_for(predicate, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_the_usage_based_billing_flow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    require_worker_services()
    tenant = make_tenant(test_mode=True)
    workspace, client = tenant.workspace, tenant.client
    start = santiago(2026, 12, 5, 9, 0)
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=start)

    def post(path: str, body: dict, status: int = 201) -> dict:
        response = client.post(path, body, format="json")
        assert response.status_code == status, response.json()
        return response.json()

    meter = post("/meters/", {"name": "API tokens", "event_name": "api_call",
                              "aggregation": "sum", "field": "tokens"})  # fmt: skip
    post("/features/", {"key": "api_tokens", "name": "API tokens",
                        "feature_type": "metered", "meter": meter["id"]})  # fmt: skip
    product = post("/products/", {"name": "API", "unit_label": "token"})
    base = post("/plans/", {"product": product["id"], "name": "Base", "amount": "10000",
                            "currency": "CLP"})  # fmt: skip
    tokens = post("/plans/", {
        "product": product["id"], "name": "Tokens", "currency": "CLP",
        "usage_scheme": "metered", "meter": meter["id"], "tiers_mode": "range",
        "tiers": [{"up_to": 1000, "amount": "0"}, {"up_to": 10000, "amount": "2"},
                  {"up_to": None, "amount": "1"}],
    })  # fmt: skip
    customer = post("/customers/", {"name": "Comercial Andes SpA", "country": "CL",
                                    "tax_id": "76.123.456-0", "email": "pagos@andes.cl",
                                    "reference": "andes-42"})  # fmt: skip
    card = source_create_sandbox_card(
        customer=Customer.objects.get(pk=customer["id"]), card_number=sandbox.SUCCEEDS,
        exp_month=12, exp_year=2030, now=start,
    )  # fmt: skip
    subscription = post("/subscriptions/", {
        "customer": customer["id"], "collection_scheme": "charge_payment",
        "default_source": card.id, "lines": [{"plan": base["id"]}, {"plan": tokens["id"]}],
    })  # fmt: skip

    post("/events/", {"event_id": "req-1", "event_name": "api_call", "customer": "andes-42",
                      "timestamp": "2026-12-05T10:00:00-03:00",
                      "properties": {"tokens": 4000}}, status=202)  # fmt: skip
    bulk = post("/events/bulk/", {"events": [
        {"event_id": "req-2", "event_name": "api_call", "customer": customer["id"],
         "timestamp": "2026-12-05T15:00:00-03:00", "properties": {"tokens": 6500}},
        {"event_id": "req-1", "event_name": "api_call", "customer": "andes-42",
         "timestamp": "2026-12-05T10:00:00-03:00", "properties": {"tokens": 4000}},
    ]}, status=202)  # fmt: skip
    assert (bulk["accepted"], bulk["duplicate"]) == (1, 1)
    usage = client.get(f"/meters/{meter['id']}/usage/", {
        "customer": customer["id"], "start": "2026-12-05T00:00:00-03:00",
        "end": "2027-01-05T00:00:00-03:00"}).json()  # fmt: skip
    assert Decimal(str(usage["value"])) == Decimal(10500)

    # The period ends on the test clock; beat and the worker bill and charge it.
    periods = BilledPeriod.objects.filter(subscription_id=subscription["id"])
    with use_test_broker():
        Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=santiago(2027, 1, 5, 9))
        with running_worker(
            tmp_path, beat=True, concurrency=2,
            extra_env={"BILLING_CYCLE_INTERVAL_SECONDS": "0.5"},
        ):  # fmt: skip
            _wait_for(
                lambda: periods.filter(collection_status=CollectionStatus.SUCCEEDED).count() == 2
            )

    invoice = Invoice.objects.get(subscription_id=subscription["id"], period_start="2027-01-05")
    body = client.get(f"/invoices/{invoice.id}/").json()
    assert body["status"] == "paid"
    assert [(line["name"], Decimal(str(line["total"]))) for line in body["lines"]] == [
        ("Base", Decimal(10000)),
        ("Tokens (usage)", Decimal(18500)),  # 9,000 × 2 + 500 × 1
    ]
    assert Decimal(str(body["total"])) == Decimal(33915)
    assert periods.count() == 2
