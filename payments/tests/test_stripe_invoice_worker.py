"""Invoice sync with a real Celery worker on Redis and PostgreSQL and the fake Stripe as
a real process: finalize → copied to Stripe by the outbox's task → paid on Stripe's
hosted page → `invoice.paid` (signed by the library) → ours paid, once, however the
events are resent or reordered."""

import time
from collections.abc import Callable

import httpx
import pytest
from django.db.models import QuerySet

from billing.models import Workspace
from customers.models import Customer
from invoices.models import Invoice
from invoices.tests.pdf_helpers import make_issuer
from payments.models import Payment, Source, StripeEvent
from payments.tests.conftest import connect_stripe, create_customer
from subscriptions.tests.helpers import plan_of, santiago, subscribe
from tests.conftest import make_tenant
from tests.fake_stripe import FakeStripe, checkout_session_id, post_stripe_event
from tests.workers import (
    Worker,
    broker_backlog,
    require_worker_services,
    running_worker,
    use_test_broker,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for(
    predicate: Callable[[], bool],
    what: str,
    timeout: float = 60.0,
    state: Callable[[], object] | None = None,
) -> None:
    """Wait for `predicate`; on timeout, say what `state` shows then (a status, a log), so
    a failure in CI tells which way it went. The condition is checked once more after the
    deadline: a test process held off the CPU past it does not fail work that is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    if predicate():
        return
    shown = "" if state is None else f"; then: {state()!r}"
    raise AssertionError(f"timed out waiting for {what}{shown}")


def event_state(events: "QuerySet[StripeEvent]", worker: Worker) -> object:
    """A stored Stripe event's status, outcome and attempts, what the broker holds, whether
    the worker still runs, and the end of its log."""
    found = list(events.values_list("status", "outcome", "attempts"))
    running = worker.process.poll() is None
    return found, broker_backlog(), {"worker running": running}, worker.log_path.read_text()[-3000:]


def pay_on_hosted_page(fake: FakeStripe, stripe_id: str, card: str) -> dict[str, object]:
    response = httpx.post(
        f"{fake.base_url}/_test/invoices/{stripe_id}/pay",
        data={"card": card},
        headers={"Authorization": f"Bearer {fake.secret_key}"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def worker_env(fake_stripe):  # type: ignore[no-untyped-def]
    require_worker_services()
    with use_test_broker():
        yield {"STRIPE_API_BASE": fake_stripe.base_url, "BILLING_CYCLE_INTERVAL_SECONDS": "0.5"}


def test_a_finalized_invoice_is_synced_and_paid_through_stripe(worker_env, fake_stripe, tmp_path):
    tenant = make_tenant(test_mode=True)
    make_issuer(tenant.workspace)

    with running_worker(tmp_path, extra_env=worker_env, concurrency=3) as worker:
        # Invoices sync; customers do not: the invoice's customer is made in Stripe anyway.
        connect_stripe(tenant, fake_stripe, sync_customers=False, sync_invoices=True)
        customer_id = str(create_customer(tenant)["id"])
        draft = tenant.client.post(
            "/invoices/",
            {"customer": customer_id, "document": 33, "date": "2026-12-01",
             "due_date": "2027-01-15", "lines": [{"name": "Plan Pro", "amount": "20000"}]},
            format="json",
        )  # fmt: skip
        assert draft.status_code == 201, draft.content
        invoice_id = draft.json()["id"]
        assert tenant.client.post(f"/invoices/{invoice_id}/finalize/").status_code == 200

        invoice = Invoice.objects.filter(pk=invoice_id)
        wait_for(lambda: invoice.get().stripe_sync_status == "synced", "the invoice sync")
        shown = tenant.client.get(f"/invoices/{invoice_id}/").json()
        assert shown["stripe_status"] == "open"
        assert shown["stripe_hosted_invoice_url"]
        copy = fake_stripe.client().v1.invoices.retrieve(shown["stripe_id"])
        assert (copy.amount_due, copy.metadata["billing_id"]) == (23800, invoice_id)
        assert copy.customer == Customer.objects.get(pk=customer_id).stripe_id

        # A first attempt on the hosted page is declined, the second pays.
        declined = pay_on_hosted_page(fake_stripe, copy.id, "4000000000000341")
        paid = pay_on_hosted_page(fake_stripe, copy.id, "4242424242424242")

        # Stripe sends the payment first, twice, and the earlier decline after it.
        for _ in range(2):
            assert post_stripe_event(tenant.workspace.id, paid).status_code == 200
        stored = StripeEvent.objects.filter(stripe_id=paid["id"])
        wait_for(
            lambda: stored.get().status == "processed",
            "invoice.paid processed",
            state=lambda: event_state(stored, worker),
        )
        assert post_stripe_event(tenant.workspace.id, declined).status_code == 200
        late = StripeEvent.objects.filter(stripe_id=declined["id"])
        wait_for(
            lambda: late.get().status == "ignored",
            "the late decline ignored",
            state=lambda: event_state(late, worker),
        )
        assert invoice.get().status == "paid"

        # Ours paid (invoice.paid) runs the sync again: Stripe's copy is left as it is.
        wait_for(lambda: invoice.get().stripe_status == "paid", "the copy seen paid")
        time.sleep(1)

    assert (stored.count(), stored.get().attempts) == (1, 1)
    [payment] = Payment.objects.filter(allocations__invoice_id=invoice_id)
    assert (payment.status, payment.gateway, payment.amount) == ("succeeded", "stripe", 23800)
    final = fake_stripe.client().v1.invoices.retrieve(copy.id)
    assert (final.status, final.amount_paid, final.amount_paid_off_stripe) == ("paid", 23800, 0)
    assert invoice.get().stripe_sync_status == "synced"
    log = worker.log_path.read_text()
    assert fake_stripe.secret_key not in log
    assert "Traceback" not in log


def test_a_cycle_invoice_charged_by_us_is_paid_out_of_band_in_stripe(
    worker_env, fake_stripe, tmp_path
):
    """The guide's last phase with invoice sync on: beat bills the subscription, the
    cycle's invoice is copied to Stripe, our charge pays it, and Stripe's copy is marked
    paid outside Stripe so the customer is never asked for it twice."""
    start = santiago(2026, 3, 1, 9, 0)
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_clock_at=start)

    with running_worker(tmp_path, extra_env=worker_env, beat=True, concurrency=3):
        connect_stripe(tenant, fake_stripe, sync_customers=True, sync_invoices=True)
        customer_id = str(create_customer(tenant)["id"])
        customer = Customer.objects.filter(pk=customer_id)
        wait_for(lambda: customer.get().stripe_sync_status == "synced", "the customer sync")
        url = tenant.client.post(
            f"/customers/{customer_id}/setup_intent/",
            {"success_url": "https://shop.example.com/ok"},
            format="json",
        ).json()["url"]
        completed = fake_stripe.complete_checkout(checkout_session_id(url))
        assert post_stripe_event(tenant.workspace.id, completed).status_code == 200
        sources = Source.objects.filter(customer_id=customer_id, default=True)
        wait_for(sources.exists, "the saved card")

        subscribe(
            tenant.workspace, start, [(plan_of(tenant.workspace), 1)],
            customer=customer.get(), collection_scheme="charge_payment",
            default_source=sources.get(),
        )  # fmt: skip
        invoices = Invoice.objects.filter(customer_id=customer_id)
        wait_for(lambda: invoices.filter(status="paid").exists(), "the invoice paid")
        wait_for(lambda: invoices.get().stripe_status == "paid", "the Stripe copy paid", timeout=90)

    invoice = invoices.get()
    assert invoice.stripe_sync_status == "synced"
    copy = fake_stripe.client().v1.invoices.retrieve(invoice.stripe_id)
    assert copy.status == "paid"
    assert copy.amount_paid_off_stripe == copy.total == int(invoice.total_adjusted)
    assert copy.metadata["billing_id"] == invoice.id
    assert copy.customer == customer.get().stripe_id
    assert Payment.objects.filter(customer_id=customer_id).count() == 1
