"""The load test's clients: an API integration's mix of reads and writes.

Started by `bench/load.py`, which seeds a workspace and writes what it made to the JSON
file named by LOAD_SEED (token, workspace, customers, invoices, products, meter). Each
simulated client runs about LOAD_USER_RATE tasks a second; a task is one request, or two
for an invoice's create + finalize.
"""

import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from locust import HttpUser, constant_throughput, task
from stdnum.cl import rut

SEED = json.loads(Path(os.environ["LOAD_SEED"]).read_text())
# The seeded workspace is Chilean: its documents are dated in its own day.
WORKSPACE_TIMEZONE = ZoneInfo("America/Santiago")


def new_rut() -> str:
    number = str(random.randrange(5_000_000, 99_999_999))
    return f"{number}-{rut.calc_check_digit(number)}"


class ApiClient(HttpUser):
    wait_time = constant_throughput(float(os.environ.get("LOAD_USER_RATE", "1")))

    def on_start(self) -> None:
        self.client.headers.update(
            {
                "Authorization": f"Token {SEED['token']}",
                "x-simple-workspace": SEED["workspace"],
                "x-piriod-test-mode": "true",
            }
        )
        self.customers: list[dict] = list(SEED["customers"])
        self.invoices: list[str] = list(SEED["invoices"])
        # Finalized invoices of this client that still owe something: id → amount due.
        self.unpaid: dict[str, int] = {}

    def get(self, path: str, name: str, params: dict | None = None) -> None:
        self.call("GET", path, name, params=params)

    def post(self, path: str, body: dict, name: str | None = None) -> dict | None:
        """POST with an Idempotency-Key, as a client that retries safely does; the answer's
        body, or None when it failed."""
        key = {"Idempotency-Key": uuid.uuid4().hex}
        return self.call("POST", path, name or path, json=body, headers=key)

    def call(self, method: str, path: str, name: str, **kwargs: Any) -> dict | None:
        # An error is counted with the start of its body, so the report says what failed.
        request = self.client.request(method, path, name=name, catch_response=True, **kwargs)
        with request as response:
            if response.status_code >= 400:
                response.failure(f"{response.status_code} {response.text[:300]}")
                return None
            return response.json()

    @task(10)
    def list_customers(self) -> None:
        self.get("/customers/?page_size=20&ordering=-created", "/customers/")

    @task(8)
    def customer_detail(self) -> None:
        customer = random.choice(self.customers)
        self.get(f"/customers/{customer['id']}/", "/customers/[id]/")

    @task(10)
    def list_invoices(self) -> None:
        self.get("/invoices/?page_size=20&status=finalized", "/invoices/")

    @task(8)
    def invoice_detail(self) -> None:
        self.get(f"/invoices/{random.choice(self.invoices)}/", "/invoices/[id]/")

    @task(2)
    def list_products(self) -> None:
        self.get("/products/", "/products/")

    @task(2)
    def meter_usage(self) -> None:
        customer = random.choice(self.customers)
        now = datetime.now(UTC)
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        self.get(
            f"/meters/{SEED['meter']}/usage/",
            "/meters/[id]/usage/",
            params={"customer": customer["id"], "start": start.isoformat(), "end": now.isoformat()},
        )

    @task(3)
    def create_customer(self) -> None:
        reference = f"load-{uuid.uuid4().hex[:12]}"
        created = self.post(
            "/customers/",
            {"name": f"Cliente {reference}", "country": "CL", "tax_id": new_rut(),
             "email": f"{reference}@example.com", "reference": reference},
        )  # fmt: skip
        if created:
            self.customers.append({"id": created["id"], "reference": reference})

    @task(4)
    def invoice_create_and_finalize(self) -> None:
        customer = random.choice(self.customers)
        lines = [
            {"name": random.choice(SEED["products"]), "amount": str(random.randrange(1000, 90000)),
             "quantity": random.randrange(1, 5)}
            for _ in range(random.randrange(1, 4))
        ]  # fmt: skip
        today = datetime.now(WORKSPACE_TIMEZONE).date()
        created = self.post(
            "/invoices/",
            {"customer": customer["id"], "document": 33, "date": today.isoformat(),
             "due_date": (today + timedelta(days=30)).isoformat(), "lines": lines},
        )  # fmt: skip
        if not created:
            return
        path = f"/invoices/{created['id']}/finalize/"
        finalized = self.post(path, {}, name="/invoices/[id]/finalize/")
        if finalized:
            self.invoices.append(finalized["id"])
            self.unpaid[finalized["id"]] = int(Decimal(str(finalized["amount_due"])))

    @task(3)
    def pay_invoice(self) -> None:
        if not self.unpaid:
            return
        invoice_id = random.choice(list(self.unpaid))
        due = self.unpaid.pop(invoice_id)
        # Half now and the rest on a later visit, or everything at once.
        if due > 1 and random.random() < 0.5:
            body = {"invoice": invoice_id, "amount": str(due // 2), "description": "Abono"}
            self.unpaid[invoice_id] = due - due // 2
        else:
            body = {"invoice": invoice_id, "description": "Transferencia"}
        self.post("/payments/", body)

    @task(6)
    def usage_event(self) -> None:
        customer = random.choice(self.customers)
        self.post(
            "/events/",
            {"event_id": uuid.uuid4().hex, "event_name": "api_call",
             "customer": customer["reference"],
             "properties": {"tokens": random.randrange(1, 5000)}},
        )  # fmt: skip

    @task(1)
    def usage_events_bulk(self) -> None:
        events = [
            {"event_id": uuid.uuid4().hex, "event_name": "api_call",
             "customer": random.choice(self.customers)["reference"],
             "properties": {"tokens": random.randrange(1, 5000)}}
            for _ in range(50)
        ]  # fmt: skip
        self.post("/events/bulk/", {"events": events})
