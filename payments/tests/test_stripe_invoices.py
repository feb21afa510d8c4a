"""Invoices copied to Stripe (sync_invoices): created with their items and finalized once,
voided, credited and marked paid as ours are; Stripe's invoice.paid and
invoice.payment_failed brought back once and never backwards. The real `stripe` library
against the fake Stripe on loopback."""

from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Event
from customers.models import Customer
from invoices.models import CreditNote, Invoice
from invoices.tests.pdf_helpers import make_issuer
from payments import services
from payments.gateways import stripe_invoicing
from payments.gateways.stripe_gateway import StripeGateway
from payments.models import Payment, StripeEvent
from payments.tests.conftest import connect_stripe, create_customer
from payments.tests.test_stripe_pay_and_save import stripe_calls
from tests.conftest import Tenant, make_tenant
from tests.fake_stripe import FakeStripe, post_stripe_event, signed, stripe_event

pytestmark = pytest.mark.django_db

LINES = [
    {"name": "Plan Pro (noviembre)", "amount": "49990", "quantity": 3},
    {"name": "Implementación", "amount": "150000", "discount": "10"},
    {"name": "Seguro", "amount": "12500", "exempt": True},
]


def sync_tenant(fake: FakeStripe, **settings: object) -> Tenant:
    tenant = make_tenant(test_mode=True)
    make_issuer(tenant.workspace)
    connect_stripe(tenant, fake, **{"sync_invoices": True, **settings})
    return tenant


def finalized_invoice(tenant: Tenant, customer_id: str, lines: Any = None) -> dict[str, Any]:
    draft = tenant.client.post(
        "/invoices/",
        {"customer": customer_id, "document": 33, "date": "2026-12-01", "due_date": "2027-01-15",
         "lines": lines or LINES},
        format="json",
    )  # fmt: skip
    assert draft.status_code == 201, draft.content
    finalized = tenant.client.post(f"/invoices/{draft.json()['id']}/finalize/")
    assert finalized.status_code == 200, finalized.content
    return dict(finalized.json())


def sync(object_id: str, event_type: str) -> str:
    """What the outbox's task does with the latest such event of the object."""
    event = Event.objects.filter(object_id=object_id, type=event_type).latest("sequence")
    return services.stripe_sync_for_event(event_id=event.id, now=timezone.now())


def synced_invoice(tenant: Tenant, fake: FakeStripe) -> dict[str, Any]:
    customer = create_customer(tenant)
    invoice = finalized_invoice(tenant, str(customer["id"]))
    assert sync(invoice["id"], "invoice.finalized") == "synced"
    return dict(tenant.client.get(f"/invoices/{invoice['id']}/").json())


def process(tenant: Tenant, event: dict[str, Any]) -> StripeEvent:
    assert post_stripe_event(tenant.workspace.id, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_id=event["id"])
    return services.stripe_event_process(event_id=stored.id, now=timezone.now())


def pay_in_stripe(
    fake: FakeStripe, stripe_id: str, card: str = "4242424242424242", api_version: str = ""
) -> Any:
    """The customer pays on the hosted page; the event as a webhook endpoint pinned to
    `api_version` (the library's when empty) receives it."""
    import httpx

    response = httpx.post(
        f"{fake.base_url}/_test/invoices/{stripe_id}/pay",
        data={"card": card, "api_version": api_version},
        headers={"Authorization": f"Bearer {fake.secret_key}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_finalized_invoice_is_created_and_finalized_in_stripe(fake_stripe):
    tenant = sync_tenant(fake_stripe)

    shown = synced_invoice(tenant, fake_stripe)

    assert shown["stripe_id"].startswith("in_")
    assert shown["stripe_sync_status"] == "synced"
    assert shown["stripe_status"] == "open"
    assert shown["stripe_synced_at"] is not None
    assert shown["stripe_hosted_invoice_url"].endswith(f"/{shown['stripe_id']}/hosted")
    assert shown["stripe_invoice_pdf"].endswith(f"/{shown['stripe_id']}/pdf")
    copy = fake_stripe.client().v1.invoices.retrieve(shown["stripe_id"])
    assert copy.status == "open"
    assert copy.currency == "clp"
    assert copy.collection_method == "send_invoice"
    assert copy.metadata["billing_id"] == shown["id"]
    assert copy.metadata["number"] == str(shown["number"])
    assert copy.customer == Customer.objects.get(pk=shown["customer"]).stripe_id
    # CLP has no minor unit: the Stripe invoice asks exactly what ours does.
    assert Decimal(copy.amount_due) == Decimal(str(shown["total_adjusted"])) == Decimal(351614)
    items = {line.description: line.amount for line in copy.lines.data}
    assert items == {
        "Plan Pro (noviembre) × 3": 149970,
        "Implementación": 135000,
        "Seguro": 12500,
        "Tax 19%": 54144,
    }


def test_a_document_discount_keeps_the_stripe_total_exact(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    customer = create_customer(tenant)
    draft = tenant.client.post(
        "/invoices/",
        {
            "customer": customer["id"],
            "document": 33,
            "date": "2026-12-01",
            "discount": "7",
            "lines": LINES,
        },
        format="json",
    )
    assert draft.status_code == 201, draft.content
    invoice = tenant.client.post(f"/invoices/{draft.json()['id']}/finalize/").json()

    assert sync(invoice["id"], "invoice.finalized") == "synced"

    copy = fake_stripe.client().v1.invoices.retrieve(
        Invoice.objects.get(pk=invoice["id"]).stripe_id
    )
    items = {line.description: line.amount for line in copy.lines.data}
    assert items["Discount"] < 0
    assert copy.amount_due == sum(items.values()) == invoice["total_adjusted"]


def test_running_the_sync_again_makes_nothing_twice(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)

    assert sync(shown["id"], "invoice.finalized") == "synced"
    # A run that lost what it stored (it died before recording): the idempotency key
    # gives back the same Stripe invoice, which is finalized already.
    Invoice.objects.filter(pk=shown["id"]).update(stripe_id="")
    assert sync(shown["id"], "invoice.finalized") == "synced"

    assert Invoice.objects.get(pk=shown["id"]).stripe_id == shown["stripe_id"]
    stripe_customer = Customer.objects.get(pk=shown["customer"]).stripe_id
    copies = fake_stripe.client().v1.invoices.list(params={"customer": stripe_customer})
    assert [c.id for c in copies.data] == [shown["stripe_id"]]
    assert len(copies.data[0].lines.data) == 4


def test_a_run_that_died_after_some_items_adds_only_the_missing_ones(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    customer = create_customer(tenant)
    invoice = finalized_invoice(tenant, str(customer["id"]))
    ours = Invoice.objects.select_related("customer", "document").get(pk=invoice["id"])
    gateway = StripeGateway(fake_stripe.secret_key)
    # The dead run made the Stripe customer and invoice and one item, under idempotency
    # keys Stripe has forgotten since (a day later): only their metadata names ours.
    stripe_customer = gateway.customer_upsert(
        stripe_id="", fields={"name": "Comercial Andes SpA"},
        idempotency_key=f"customer-{customer['id']}",
    )  # fmt: skip
    Customer.objects.filter(pk=customer["id"]).update(stripe_id=stripe_customer)
    copy = stripe_invoicing.invoice_create(
        gateway, stripe_customer=stripe_customer, currency="CLP", days_until_due=30,
        description="x", metadata={"billing_id": ours.id}, reference=f"{ours.id}-forgotten",
    )  # fmt: skip
    first_line = ours.lines.order_by("position", "id").first()
    stripe_invoicing.invoice_item_add(
        gateway, stripe_id=copy.id, stripe_customer=stripe_customer, currency="CLP",
        item=stripe_invoicing.StripeItem(first_line.id, "x", first_line.total),
        reference=f"{ours.id}-forgotten",
    )  # fmt: skip

    assert sync(invoice["id"], "invoice.finalized") == "synced"

    stored = Invoice.objects.get(pk=invoice["id"])
    assert stored.stripe_id == copy.id
    in_stripe = fake_stripe.client().v1.invoices.retrieve(copy.id)
    assert len(in_stripe.lines.data) == 4
    assert in_stripe.amount_due == 351614
    listed = fake_stripe.client().v1.invoices.list(params={"customer": stripe_customer})
    assert [c.id for c in listed.data] == [copy.id]


@pytest.mark.postgresql
def test_a_run_waits_while_another_holds_the_invoice(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    customer = create_customer(tenant)
    invoice = finalized_invoice(tenant, str(customer["id"]))
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
        password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True,
    )  # fmt: skip
    key = f"payments.stripe_invoice:{invoice['id']}"
    try:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])

        assert sync(invoice["id"], "invoice.finalized") == "busy"
        assert Invoice.objects.get(pk=invoice["id"]).stripe_id == ""
    finally:
        other.close()
    assert sync(invoice["id"], "invoice.finalized") == "synced"


def test_nothing_is_sent_when_syncing_invoices_is_off(fake_stripe):
    tenant = sync_tenant(fake_stripe, sync_invoices=False)
    customer = create_customer(tenant)
    invoice = finalized_invoice(tenant, str(customer["id"]))

    assert sync(invoice["id"], "invoice.finalized") == "skipped"

    shown = tenant.client.get(f"/invoices/{invoice['id']}/").json()
    assert (shown["stripe_id"], shown["stripe_sync_status"]) == ("", "not_synced")


def test_a_key_stripe_refuses_leaves_the_error_on_the_invoice(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    customer = create_customer(tenant)
    invoice = finalized_invoice(tenant, str(customer["id"]))
    from payments.models import PaymentGateway

    PaymentGateway.objects.filter(workspace=tenant.workspace, gateway="stripe").update(
        secret_key="sk_test_unknown"
    )

    assert sync(invoice["id"], "invoice.finalized") == "failed"

    stored = Invoice.objects.get(pk=invoice["id"])
    assert stored.stripe_sync_status == "failed"
    assert "Stripe refused the secret key" in stored.stripe_sync_error
    assert "sk_test_unknown" not in stored.stripe_sync_error


def test_invoice_paid_in_stripe_marks_ours_paid_once(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    paid = pay_in_stripe(fake_stripe, shown["stripe_id"])
    assert paid["type"] == "invoice.paid"

    first = process(tenant, paid)
    resent = process(tenant, paid)  # Stripe resends the same event
    # Another event about the same payment (a new id) records nothing more either.
    again = process(tenant, {**paid, "id": paid["id"] + "x"})

    assert (first.status, resent.status, again.status) == ("processed", "processed", "ignored")
    invoice = tenant.client.get(f"/invoices/{shown['id']}/").json()
    assert invoice["status"] == "paid"
    assert invoice["stripe_status"] == "paid"
    assert Decimal(str(invoice["amount_due"])) == 0
    [payment] = Payment.objects.filter(allocations__invoice_id=shown["id"])
    assert (payment.status, payment.gateway, payment.amount) == (
        "succeeded", "stripe", Decimal(351614)
    )  # fmt: skip
    assert payment.gateway_reference.startswith("pi_")


# An API version before invoices listed their payments (2025-03-31): the invoice names
# its latest PaymentIntent and charge at the top level.
OLDER_API = "2024-06-20"


def test_invoice_paid_in_an_older_api_version_records_its_payment_intent(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    paid = pay_in_stripe(fake_stripe, shown["stripe_id"], api_version=OLDER_API)
    obj = paid["data"]["object"]
    assert "payments" not in obj and obj["payment_intent"].startswith("pi_")

    assert process(tenant, paid).status == "processed"

    [payment] = Payment.objects.filter(allocations__invoice_id=shown["id"])
    assert (payment.status, payment.gateway_reference) == ("succeeded", obj["payment_intent"])
    assert Invoice.objects.get(pk=shown["id"]).status == "paid"


def test_a_failed_attempt_in_an_older_api_version_has_its_decline_code(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    failed = pay_in_stripe(
        fake_stripe, shown["stripe_id"], card="4000000000000341", api_version=OLDER_API
    )

    assert process(tenant, failed).status == "processed"

    [payment] = Payment.objects.filter(allocations__invoice_id=shown["id"])
    assert (payment.status, payment.failed_reason) == ("failed", "card_declined")
    assert payment.gateway_reference == failed["data"]["object"]["payment_intent"]


@pytest.mark.parametrize("shape", ["older", "payments"])
def test_an_invoice_paid_by_a_charge_records_the_charge_and_refunds_through_it(fake_stripe, shape):
    """An invoice paid by a charge with no PaymentIntent: the older shape names only its
    `charge`, the newer one a payment of type `charge`."""
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    paid = pay_in_stripe(fake_stripe, shown["stripe_id"], api_version=OLDER_API)
    obj = paid["data"]["object"]
    charge = obj["charge"]
    if shape == "older":
        obj["payment_intent"] = None
    else:
        for key in ("payment_intent", "charge", "paid", "paid_out_of_band"):
            obj.pop(key)
        obj["payments"] = {"object": "list", "data": [
            {"id": "inpay_1", "object": "invoice_payment", "status": "paid",
             "payment": {"type": "charge", "charge": charge}},
        ]}  # fmt: skip

    assert process(tenant, paid).status == "processed"
    [payment] = Payment.objects.filter(allocations__invoice_id=shown["id"])
    refunded = tenant.client.post(f"/payments/{payment.id}/refund/", {"amount": "1000"})

    assert payment.gateway_reference == charge
    assert refunded.status_code == 200, refunded.content
    refund = payment.refunds.get()
    in_stripe = fake_stripe.client().v1.refunds.retrieve(refund.gateway_reference)
    assert (in_stripe.charge, in_stripe.amount) == (charge, 1000)
    # A further refund made in Stripe's dashboard is reported on the charge alone.
    dashboard = stripe_event("charge.refunded", {
        "id": charge, "object": "charge", "payment_intent": None, "amount_refunded": 3000,
        "refunds": {"data": [{"id": "re_dashboard"}]},
    })  # fmt: skip
    assert process(tenant, dashboard).status == "processed"
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal(3000)


def test_an_invoice_marked_paid_out_of_band_in_an_older_api_version_records_nothing(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    copy = fake_stripe.client().v1.invoices.retrieve(shown["stripe_id"]).to_dict()
    older = {k: v for k, v in copy.items() if k not in ("payments", "amount_paid_off_stripe")}
    older.update(status="paid", paid=True, paid_out_of_band=True, amount_paid=copy["amount_due"],
                 payment_intent=None, charge=None)  # fmt: skip

    echo = process(tenant, stripe_event("invoice.paid", older, api_version=OLDER_API))

    assert echo.status == "ignored"
    assert not Payment.objects.filter(allocations__invoice_id=shown["id"]).exists()


def test_a_late_payment_failed_never_moves_a_paid_invoice_back(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    failed = pay_in_stripe(fake_stripe, shown["stripe_id"], card="4000000000000341")
    paid = pay_in_stripe(fake_stripe, shown["stripe_id"])

    # Stripe delivers them out of order: the payment first, the earlier failure after.
    assert process(tenant, paid).status == "processed"
    late = process(tenant, failed)

    assert late.status == "ignored"
    assert "already paid" in late.outcome
    assert Invoice.objects.get(pk=shown["id"]).status == "paid"
    assert list(
        Payment.objects.filter(allocations__invoice_id=shown["id"]).values_list("status", flat=True)
    ) == ["succeeded"]


def test_a_failed_attempt_in_stripe_is_a_failed_payment_and_leaves_the_invoice_due(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    failed = pay_in_stripe(fake_stripe, shown["stripe_id"], card="4000000000000341")
    assert failed["type"] == "invoice.payment_failed"

    assert process(tenant, failed).status == "processed"
    assert process(tenant, {**failed, "id": failed["id"] + "x"}).status == "ignored"

    [payment] = Payment.objects.filter(allocations__invoice_id=shown["id"])
    assert (payment.status, payment.failed_reason) == ("failed", "card_declined")
    assert Invoice.objects.get(pk=shown["id"]).status == "finalized"
    assert Event.objects.filter(object_id=payment.id, type="payment.failed").count() == 1

    # The customer then pays: the invoice is paid through the same settle path.
    assert process(tenant, pay_in_stripe(fake_stripe, shown["stripe_id"])).status == "processed"
    assert Invoice.objects.get(pk=shown["id"]).status == "paid"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_attempt_is_read_from_stripe_with_no_transaction_open(fake_stripe, monkeypatch):
    """The decline code is read before the event's transaction: a slow Stripe (its
    timeout, retried) keeps no lock on the invoice, which the attempt's own invoice.paid
    would wait for."""
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    failed = pay_in_stripe(fake_stripe, shown["stripe_id"], card="4000000000000341")

    with stripe_calls(monkeypatch) as seen:
        processed = process(tenant, failed)

    assert processed.status == "processed", processed.outcome
    assert seen == ["PaymentIntentService.retrieve"]
    [payment] = Payment.objects.filter(allocations__invoice_id=shown["id"])
    assert (payment.status, payment.failed_reason) == ("failed", "card_declined")


def test_stripe_unreachable_fails_a_due_attempt_and_still_ignores_a_late_one(fake_stripe, settings):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    first = pay_in_stripe(fake_stripe, shown["stripe_id"], card="4000000000000341")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable from here on

    due = process(tenant, first)
    assert due.status == "failed"
    assert due.outcome.startswith("DomainError: ")
    assert not Payment.objects.filter(allocations__invoice_id=shown["id"]).exists()

    settings.STRIPE_API_BASE = fake_stripe.base_url
    assert process(tenant, pay_in_stripe(fake_stripe, shown["stripe_id"])).status == "processed"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    late = process(tenant, {**first, "id": first["id"] + "late"})
    assert (late.status, late.outcome) == ("ignored", f"invoice {shown['id']} is already paid")


def test_cancelling_ours_voids_the_stripe_invoice(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)

    response = tenant.client.post(f"/invoices/{shown['id']}/cancel/")
    assert response.status_code == 200, response.content
    assert sync(shown["id"], "invoice.cancelled") == "synced"
    # The annulling credit note's own event changes nothing more in Stripe.
    annulment = CreditNote.objects.get(invoice_id=shown["id"])
    assert sync(annulment.id, "credit_note.finalized") == "synced"

    copy = fake_stripe.client().v1.invoices.retrieve(shown["stripe_id"])
    assert copy.status == "void"
    assert Invoice.objects.get(pk=shown["id"]).stripe_status == "void"
    assert fake_stripe.client().v1.credit_notes.list(params={"invoice": copy.id}).data == []


def test_an_invoice_cancelled_before_it_reached_stripe_is_never_sent(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    customer = create_customer(tenant)
    invoice = finalized_invoice(tenant, str(customer["id"]))
    assert tenant.client.post(f"/invoices/{invoice['id']}/cancel/").status_code == 200

    # The finalized event's task runs late, after the cancel committed.
    assert sync(invoice["id"], "invoice.finalized") == "skipped"
    assert sync(invoice["id"], "invoice.cancelled") == "skipped"

    assert Invoice.objects.get(pk=invoice["id"]).stripe_id == ""


def test_a_credit_note_on_ours_is_a_credit_note_in_stripe_once(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    note = tenant.client.post(
        "/creditnotes/",
        {"invoice": shown["id"], "reason": 3, "description": "Descuento comercial",
         "lines": [{"name": "Descuento", "amount": "10000"}]},
        format="json",
    )  # fmt: skip
    assert note.status_code == 201, note.content
    assert tenant.client.post(f"/creditnotes/{note.json()['id']}/finalize/").status_code == 200

    assert sync(note.json()["id"], "credit_note.finalized") == "synced"
    assert sync(note.json()["id"], "credit_note.finalized") == "synced"

    [credit] = (
        fake_stripe.client().v1.credit_notes.list(params={"invoice": shown["stripe_id"]}).data
    )
    assert (credit.amount, credit.metadata["billing_id"]) == (11900, note.json()["id"])
    assert CreditNote.objects.get(pk=note.json()["id"]).stripe_id == credit.id
    copy = fake_stripe.client().v1.invoices.retrieve(shown["stripe_id"])
    ours = tenant.client.get(f"/invoices/{shown['id']}/").json()
    assert copy.amount_remaining == ours["amount_due"] == 351614 - 11900


def test_ours_paid_another_way_is_marked_paid_out_of_band_in_stripe(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    received = tenant.client.post("/payments/", {"invoice": shown["id"]}, format="json")
    assert received.status_code == 201, received.content
    assert Invoice.objects.get(pk=shown["id"]).status == "paid"

    assert sync(shown["id"], "invoice.paid") == "synced"

    copy = fake_stripe.client().v1.invoices.retrieve(shown["stripe_id"])
    assert (copy.status, copy.amount_paid_off_stripe) == ("paid", 351614)
    # Stripe's own invoice.paid for that records no second payment.
    echo = stripe_event("invoice.paid", copy.to_dict())
    assert process(tenant, echo).status == "ignored"
    assert Payment.objects.filter(allocations__invoice_id=shown["id"]).count() == 1


def test_an_invoice_paid_event_for_an_invoice_we_do_not_hold_is_ignored(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    event = stripe_event(
        "invoice.paid", {"id": "in_unknown", "object": "invoice", "amount_paid": 5}
    )

    stored = process(tenant, event)

    assert (stored.status, stored.outcome) == (
        "ignored", "no invoice of ours is copied as this Stripe invoice"
    )  # fmt: skip


def test_the_schema_shows_the_stripe_fields_read_only(tenant):
    schema = tenant.client.get("/openapi.json").json()
    invoice = schema["components"]["schemas"]["Invoice"]["properties"]
    for name in ("stripe_id", "stripe_sync_status", "stripe_hosted_invoice_url",
                 "stripe_invoice_pdf", "stripe_status", "stripe_synced_at"):  # fmt: skip
        assert invoice[name]["readOnly"] is True, name


def test_the_admin_shows_the_stripe_copy_read_only(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))

    page = admin.get(reverse("admin:invoices_invoice_change", args=[shown["id"]]))
    listed = admin.get(reverse("admin:invoices_invoice_changelist") + "?stripe_sync_status=synced")

    assert page.status_code == 200
    html = page.content.decode()
    assert shown["stripe_id"] in html
    assert shown["stripe_hosted_invoice_url"] in html
    assert 'name="stripe_id"' not in html  # shown, not a field to edit
    assert shown["id"] in listed.content.decode()
    assert fake_stripe.secret_key not in html


def credit(tenant: Tenant, invoice_id: str, amount: str) -> str:
    note = tenant.client.post(
        "/creditnotes/",
        {"invoice": invoice_id, "reason": 3, "description": "Descuento comercial",
         "lines": [{"name": "Descuento", "amount": amount}]},
        format="json",
    )  # fmt: skip
    assert note.status_code == 201, note.content
    assert tenant.client.post(f"/creditnotes/{note.json()['id']}/finalize/").status_code == 200
    return str(note.json()["id"])


def test_a_credit_note_on_an_invoice_paid_in_stripe_goes_out_of_band_there(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    assert process(tenant, pay_in_stripe(fake_stripe, shown["stripe_id"])).status == "processed"
    note_id = credit(tenant, shown["id"], "10000")

    assert sync(note_id, "credit_note.finalized") == "synced"

    [note] = fake_stripe.client().v1.credit_notes.list(params={"invoice": shown["stripe_id"]}).data
    assert (note.type, note.amount, note.out_of_band_amount) == ("post_payment", 11900, 11900)
    # Ours keeps what was paid beyond the amount due as the customer's credit.
    assert Invoice.objects.get(pk=shown["id"]).status == "paid"


def test_a_tampered_invoice_paid_is_refused_and_changes_nothing(fake_stripe):
    tenant = sync_tenant(fake_stripe)
    shown = synced_invoice(tenant, fake_stripe)
    paid = pay_in_stripe(fake_stripe, shown["stripe_id"])
    body, header = signed(paid)
    tampered = body.replace(b'"amount_paid": 351614', b'"amount_paid": 999999')
    assert tampered != body
    stale_body, stale_header = signed(paid, at=int(timezone.now().timestamp()) - 301)

    for data, signature in ((tampered, header), (stale_body, stale_header)):
        response = Client().post(
            f"/webhooks/stripe/{tenant.workspace.id}/",
            data=data,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code == 400, response.content

    assert not StripeEvent.objects.filter(stripe_id=paid["id"]).exists()
    assert Invoice.objects.get(pk=shown["id"]).status == "finalized"
    assert not Payment.objects.filter(allocations__invoice_id=shown["id"]).exists()
