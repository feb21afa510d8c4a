"""Intents: requires_payment_method → authorized → captured → finalized, or failed,
cancelled, expired; each transition an event. An order's intent invoices the order."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.errors import DomainError, InvalidInput
from billing.models import Event
from catalog.models import Coupon
from catalog.tests.factories import CouponFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice, Order
from invoices.tests.factories import FinalizedInvoiceFactory, OrderFactory
from payments import services
from payments.gateways import sandbox
from payments.models import Intent, Payment
from payments.services.intents import intent_settle_at_gateway
from payments.tests.factories import IntentFactory
from payments.tests.hosted_forms import hidden_fields
from tests.numbers import D

NOW = datetime.datetime(2026, 2, 1, 12, 0, tzinfo=datetime.UTC)


def _events(intent_id):
    return list(
        Event.objects.filter(object_id=intent_id)
        .order_by("sequence")
        .values_list("type", flat=True)
    )


def _source(customer, number):
    return services.source_create_sandbox_card(
        customer=customer, card_number=number, exp_month=1, exp_year=2030, now=NOW
    )


def test_an_invoice_intent_goes_to_finalized_through_the_api(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    created = tenant.client.post("/intents/", {"invoice": invoice.id})
    assert created.status_code == 201, created.content
    intent = created.json()
    assert intent["status"] == "requires_payment_method"
    assert intent["amount"] == D("1190")
    assert intent["client_secret"].startswith(intent["id"] + "_secret_")
    assert intent["redirect_url"].endswith(
        f"/publishable/intents/{intent['client_secret']}/hosted/"
    )
    source = _source(invoice.customer, sandbox.SUCCEEDS)

    confirmed = tenant.client.post(f"/intents/{intent['id']}/confirm/", {"source": source.id})

    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert body["status"] == "finalized"
    assert body["payment"]
    assert _events(intent["id"]) == [
        "intent.created",
        "intent.authorized",
        "intent.captured",
        "intent.finalized",
    ]
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_a_payment_taken_on_the_gateways_page_is_that_gateways_from_its_first_event(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = IntentFactory(
        workspace=tenant.workspace, invoice=invoice, customer=invoice.customer, amount=D(1190)
    )

    settled = intent_settle_at_gateway(
        intent=intent, gateway="stripe", reference="pi_checkout", now=NOW
    )

    payment_events = Event.objects.filter(object_id=settled.payment_id).order_by("sequence")
    assert [(e.type, e.data["gateway"]) for e in payment_events] == [
        ("payment.created", "stripe"),
        ("payment.succeeded", "stripe"),
    ]


def test_a_declined_intent_fails(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = services.intent_create(
        workspace=tenant.workspace, test_mode=False, invoice=invoice, now=NOW
    )

    intent = services.intent_confirm(
        intent=intent, source=_source(invoice.customer, sandbox.DECLINED), now=NOW
    )

    assert (intent.status, intent.failed_reason) == ("failed", "card_declined")
    assert intent.payment.status == "failed"
    assert _events(intent.id)[-1] == "intent.failed"


def test_an_intent_is_cancelled(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()

    response = tenant.client.post(f"/intents/{intent['id']}/cancel/")

    assert response.json()["status"] == "cancelled"
    again = tenant.client.post(f"/intents/{intent['id']}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "intent_invalid_transition"


def test_an_ended_intent_has_no_page_to_send_the_payer_to(tenant):
    # As Stripe's next_action, redirect_url is there only while the payer has something
    # to do: not once the intent is paid, cancelled or expired.
    invoices = FinalizedInvoiceFactory.create_batch(3, workspace=tenant.workspace)
    paid, cancelled, expired = (
        tenant.client.post("/intents/", {"invoice": invoice.id}).json() for invoice in invoices
    )
    source = _source(invoices[0].customer, sandbox.SUCCEEDS)
    tenant.client.post(f"/intents/{paid['id']}/confirm/", {"source": source.id})
    tenant.client.post(f"/intents/{cancelled['id']}/cancel/")
    Intent.objects.filter(pk=expired["id"]).update(
        expires_at=timezone.now() - datetime.timedelta(hours=1)
    )
    services.intents_expire_due(now=timezone.now())

    shown = [tenant.client.get(f"/intents/{i['id']}/").json() for i in (paid, cancelled, expired)]

    assert [(i["status"], i["redirect_url"]) for i in shown] == [
        ("finalized", None),
        ("cancelled", None),
        ("expired", None),
    ]


def test_an_intent_past_its_expiry_expires(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = services.intent_create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        now=NOW,
        expires_at=NOW + datetime.timedelta(hours=1),
    )

    assert services.intents_expire_due(now=NOW) == 0
    assert services.intents_expire_due(now=NOW + datetime.timedelta(hours=2)) == 1

    intent.refresh_from_db()
    assert intent.status == "expired"
    assert _events(intent.id)[-1] == "intent.expired"


def test_a_test_mode_intent_expires_on_its_test_clock(tenant):
    # The test clock stands a month ahead of the real time the sweep runs at.
    ahead = NOW + datetime.timedelta(days=30)
    tenant.workspace.test_clock_at = ahead
    tenant.workspace.save(update_fields=["test_clock_at"])
    customer = CustomerFactory(workspace=tenant.workspace, test_mode=True)
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace, test_mode=True, customer=customer)
    intent = services.intent_create(
        workspace=tenant.workspace,
        test_mode=True,
        invoice=invoice,
        now=ahead - datetime.timedelta(hours=2),
        expires_at=ahead - datetime.timedelta(hours=1),
    )

    assert services.checkouts_expire_due(now=NOW) == 1

    intent.refresh_from_db()
    assert intent.status == "expired"
    assert services.checkouts_expire_due(now=NOW) == 0


def _expired_intent(tenant, now):
    """An invoice's intent whose `expires_at` passed an hour before `now`, still open
    (the sweep has not run)."""
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = services.intent_create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        now=now - datetime.timedelta(hours=2),
        expires_at=now - datetime.timedelta(hours=1),
    )
    assert intent.status == "requires_payment_method"
    return intent


def _expired_now(intent):
    intent.refresh_from_db()
    assert intent.status == "expired"
    assert intent.payment_id is None
    assert _events(intent.id)[-1] == "intent.expired"
    assert not Payment.objects.filter(customer=intent.customer).exists()


def test_confirming_an_expired_intent_is_refused_and_the_expiry_stays(tenant):
    intent = _expired_intent(tenant, NOW)
    source = _source(intent.customer, sandbox.SUCCEEDS)

    with pytest.raises(DomainError) as refused:
        services.intent_confirm(intent=intent, source=source, now=NOW)

    assert refused.value.code == "intent_expired"
    _expired_now(intent)


def test_confirming_an_expired_intent_through_the_api_expires_it(tenant):
    intent = _expired_intent(tenant, timezone.now())
    source = _source(intent.customer, sandbox.SUCCEEDS)

    refused = tenant.client.post(f"/intents/{intent.id}/confirm/", {"source": source.id})

    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "intent_expired"
    _expired_now(intent)
    again = tenant.client.post(f"/intents/{intent.id}/confirm/", {"source": source.id})
    assert again.json()["code"] == "intent_expired"
    assert _events(intent.id).count("intent.expired") == 1


def test_paying_an_expired_intent_on_its_page_is_refused_and_expires_it(tenant):
    intent = _expired_intent(tenant, timezone.now())
    url = f"/publishable/intents/{intent.client_secret}/hosted/"
    payer = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    card = {"card_number": sandbox.SUCCEEDS, "expiry": "12/34", "cvc": "123"}

    refused = payer.post(url, card | hidden_fields(payer.get(url)))

    assert refused.status_code == 409
    assert "This payment has expired" in refused.content.decode()
    _expired_now(intent)


def test_an_intent_already_expired_is_refused_as_a_link_is(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    body = {"invoice": invoice.id, "expires_at": "2020-01-01T00:00:00Z"}

    intent = tenant.client.post("/intents/", body)
    link = tenant.client.post("/payment_links/links/", body)

    assert intent.status_code == link.status_code == 400, intent.content
    assert intent.json() == {"expires_at": ["The intent would already be expired."]}
    assert link.json() == {"expires_at": ["The link would already be expired."]}
    assert not Intent.objects.filter(invoice=invoice).exists()


def test_an_intent_expiring_the_moment_it_is_created_is_refused(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)

    with pytest.raises(InvalidInput) as refused:
        services.intent_create(
            workspace=tenant.workspace, test_mode=False, invoice=invoice, now=NOW, expires_at=NOW
        )

    assert refused.value.errors == {"expires_at": ["The intent would already be expired."]}


def test_an_order_intent_invoices_the_order_and_pays_it(tenant):
    order = OrderFactory(workspace=tenant.workspace)
    intent = services.intent_create(
        workspace=tenant.workspace, test_mode=False, order=order, now=NOW
    )
    assert intent.amount == 1190

    intent = services.intent_confirm(
        intent=intent, source=_source(order.customer, sandbox.SUCCEEDS), now=NOW
    )

    assert intent.status == "finalized"
    order = Order.objects.get(pk=order.pk)
    invoice = Invoice.objects.get(pk=order.invoice_id)
    assert (order.status, invoice.status) == ("invoiced", "paid")
    assert intent.invoice_id == invoice.id
    assert list(intent.payment.allocations.values_list("invoice_id", flat=True)) == [invoice.id]


def test_an_intent_for_nothing_due_is_refused(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    tenant.client.post("/payments/", {"invoice": invoice.id})

    response = tenant.client.post("/intents/", {"invoice": invoice.id})

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_payable"
    assert not Intent.objects.exists()


def test_an_intent_needs_an_invoice_or_an_order(tenant):
    response = tenant.client.post("/intents/", {})

    assert response.status_code == 400


@pytest.mark.parametrize("number", [sandbox.REQUIRES_AUTHENTICATION])
def test_off_session_confirmation_of_an_authentication_card_fails(tenant, number):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    source = _source(invoice.customer, number)

    response = tenant.client.post(
        f"/intents/{intent['id']}/confirm/", {"source": source.id, "off_session": True}
    )

    assert response.json()["status"] == "failed"
    assert response.json()["failed_reason"] == "authentication_required"


def test_confirmation_is_on_session_the_payer_authenticates_on_the_intents_page(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    source = _source(invoice.customer, sandbox.REQUIRES_AUTHENTICATION)

    response = tenant.client.post(f"/intents/{intent['id']}/confirm/", {"source": source.id})

    assert response.status_code == 200, response.content
    shown = response.json()
    assert (shown["status"], shown["failed_reason"]) == ("requires_payment_method", "")
    assert Payment.objects.get(pk=shown["payment"]).status == "processing"
    assert shown["redirect_url"].endswith(f"/publishable/intents/{intent['client_secret']}/hosted/")


# The amount collected is what is owed when the payment is captured (issue 13, item 1)


def _order(tenant, amount):
    customer = CustomerFactory(workspace=tenant.workspace)
    response = tenant.client.post(
        "/orders/",
        {"customer": customer.id, "items": [{"name": "Licencias", "amount": amount}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_an_order_with_an_open_intent_cannot_be_edited_or_deleted(tenant):
    order = _order(tenant, "500000")  # 595,000 with IVA
    intent = tenant.client.post("/intents/", {"order": order["id"]}).json()
    assert intent["amount"] == D("595000")

    edited = tenant.client.patch(
        f"/orders/{order['id']}/",
        {"items": [{"name": "Licencias", "amount": "100000"}]},
        format="json",
    )
    deleted = tenant.client.delete(f"/orders/{order['id']}/")

    for response in (edited, deleted):
        assert response.status_code == 409
        assert response.json()["code"] == "order_has_open_intent"
        assert "cancel the intent" in response.json()["detail"]
    assert Order.objects.get(pk=order["id"]).total == 595000
    tenant.client.post(f"/intents/{intent['id']}/cancel/")
    edited = tenant.client.patch(
        f"/orders/{order['id']}/",
        {"items": [{"name": "Licencias", "amount": "100000"}]},
        format="json",
    )
    assert edited.status_code == 200
    assert edited.json()["total"] == D("119000")


def test_confirm_charges_what_the_order_costs_and_it_is_all_applied(tenant):
    order = _order(tenant, "500000")
    intent = tenant.client.post("/intents/", {"order": order["id"]}).json()
    tenant.client.patch(
        f"/orders/{order['id']}/",
        {"items": [{"name": "Licencias", "amount": "100000"}]},
        format="json",
    )
    customer = Order.objects.get(pk=order["id"]).customer

    confirmed = tenant.client.post(
        f"/intents/{intent['id']}/confirm/",
        {"source": _source(customer, sandbox.SUCCEEDS).id},
    )

    assert confirmed.json()["status"] == "finalized"
    payment = Payment.objects.get(pk=confirmed.json()["payment"])
    invoice = tenant.client.get(f"/invoices/{confirmed.json()['invoice']}/").json()
    assert (payment.amount, invoice["total"]) == (595000, D("595000"))
    assert (invoice["status"], invoice["amount_due"]) == ("paid", D("0"))
    assert invoice["payments"][0]["amount"] == D("595000")


@pytest.mark.parametrize("total", [Decimal(119000), Decimal(714000)])
def test_an_order_intent_whose_order_changed_is_refused_before_any_charge(tenant, total):
    order = OrderFactory(workspace=tenant.workspace)  # 1,190
    intent = services.intent_create(
        workspace=tenant.workspace, test_mode=False, order=order, now=NOW
    )
    # As if the order had been re-priced behind the intent's back.
    Order.objects.filter(pk=order.pk).update(total=total)
    source = _source(order.customer, sandbox.SUCCEEDS)

    response = tenant.client.post(f"/intents/{intent.id}/confirm/", {"source": source.id})

    assert response.status_code == 409
    assert response.json()["code"] == "intent_amount_mismatch"
    assert not Payment.objects.exists()
    assert Intent.objects.get(pk=intent.id).status == "requires_payment_method"
    assert Order.objects.get(pk=order.pk).status == "draft"


def test_an_order_intent_whose_coupon_was_used_up_is_refused_before_any_charge(tenant):
    coupon = CouponFactory(workspace=tenant.workspace, max_redemptions=1)
    order = OrderFactory(workspace=tenant.workspace, coupon_id=coupon.id)
    intent = services.intent_create(
        workspace=tenant.workspace, test_mode=False, order=order, now=NOW
    )
    # Another order redeemed the coupon's last use behind the intent's back.
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=1)
    source = _source(order.customer, sandbox.SUCCEEDS)

    response = tenant.client.post(f"/intents/{intent.id}/confirm/", {"source": source.id})

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "coupon_exhausted"
    assert not Payment.objects.exists()
    assert Intent.objects.get(pk=intent.id).status == "requires_payment_method"
    assert Order.objects.get(pk=order.pk).status == "draft"


@pytest.mark.parametrize(
    ("resource", "due"), [("creditnotes", D("595")), ("debitnotes", D("1785"))]
)
def test_an_invoice_intent_whose_amount_due_changed_is_refused(tenant, resource, due):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)  # 1,190
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    note = tenant.client.post(
        f"/{resource}/",
        {"invoice": invoice.id, "reason": 3, "lines": [{"name": "Ajuste", "amount": "500"}]},
        format="json",
    ).json()
    tenant.client.post(f"/{resource}/{note['id']}/finalize/")
    source = _source(invoice.customer, sandbox.SUCCEEDS)

    response = tenant.client.post(f"/intents/{intent['id']}/confirm/", {"source": source.id})

    assert response.status_code == 409
    assert response.json()["code"] == "intent_amount_mismatch"
    assert f"owes {due} now" in response.json()["detail"]
    assert not Payment.objects.exists()
    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert (shown["status"], shown["amount_due"]) == ("finalized", due)


def test_an_intent_for_part_of_what_is_owed_is_refused(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)

    response = tenant.client.post("/intents/", {"invoice": invoice.id, "amount": "500"})

    assert response.status_code == 400
    assert "amount" in response.json()
    assert not Intent.objects.exists()


def test_a_waiting_payment_cannot_collect_what_was_paid_meanwhile(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    waiting = tenant.client.post(
        "/payments/", {"invoice": invoice.id, "status": "requires_payment_method"}
    ).json()
    assert waiting["amount"] == D("1190")
    tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "1000"})
    source = _source(invoice.customer, sandbox.SUCCEEDS)

    response = tenant.client.post(f"/payments/{waiting['id']}/authorize/", {"source": source.id})

    assert response.status_code == 409
    assert response.json()["code"] == "payment_exceeds_amount_due"
    assert Payment.objects.get(pk=waiting["id"]).status == "requires_payment_method"
    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert (shown["status"], shown["amount_due"]) == ("finalized", D("190"))


def test_cancelling_the_payment_an_intent_waits_on_cancels_the_intent(tenant):
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    intent = tenant.client.post("/intents/", {"invoice": invoice.id}).json()
    source = _source(invoice.customer, sandbox.REQUIRES_AUTHENTICATION)
    payment_id = tenant.client.post(
        f"/intents/{intent['id']}/confirm/", {"source": source.id}
    ).json()["payment"]

    cancelled = tenant.client.post(f"/payments/{payment_id}/cancel/")

    assert cancelled.json()["status"] == "cancelled", cancelled.content
    shown = tenant.client.get(f"/intents/{intent['id']}/").json()
    assert shown["status"] == "cancelled"
    assert _events(intent["id"])[-1] == "intent.cancelled"
    again = tenant.client.post(f"/intents/{intent['id']}/cancel/")
    assert again.json()["code"] == "intent_invalid_transition"
