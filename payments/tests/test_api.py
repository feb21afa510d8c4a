"""Payments through the API: allocations, partial payments, refunds, amount due and the
invoice's paid / pending / finalized transitions; gateways' secrets; links' public JSON."""

import datetime

import pytest
from rest_framework.test import APIClient

from billing.models import Event
from customers.tests.factories import CustomerFactory
from invoices.tests.factories import FinalizedInvoiceFactory
from payments.gateways import sandbox
from payments.models import Payment, PaymentGateway, PaymentLink
from payments.tests.factories import (
    IntentFactory,
    PaymentFactory,
    PaymentGatewayFactory,
    PaymentLinkFactory,
    SourceFactory,
)
from tests.fake_stripe import LIVE_KEY
from tests.numbers import D

NOW = datetime.datetime(2026, 2, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def invoice(tenant):
    # 1,000 + 19% IVA = 1,190 CLP
    return FinalizedInvoiceFactory(workspace=tenant.workspace)


def _invoice(tenant, invoice_id):
    response = tenant.client.get(f"/invoices/{invoice_id}/")
    assert response.status_code == 200
    return response.json()


def _source(tenant, customer_id, number, usage="reusable"):
    response = tenant.client.post(
        "/sources/",
        {
            "customer": customer_id,
            "usage": usage,
            "card": {"number": number, "exp_month": 12, "exp_year": 2034},
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_partial_payments_lower_the_amount_due_until_the_invoice_is_paid(tenant, invoice):
    first = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "400"})

    assert first.status_code == 201, first.content
    assert first.json()["status"] == "succeeded"
    assert first.json()["invoice"] == invoice.id
    assert first.json()["amount"] == D("400")
    shown = _invoice(tenant, invoice.id)
    assert (shown["amount_due"], shown["status"]) == (D("790"), "finalized")
    assert shown["payments"][0]["payment"] == first.json()["id"]
    assert shown["payments"][0]["amount"] == D("400")

    second = tenant.client.post("/payments/", {"invoice": invoice.id})

    assert second.status_code == 201, second.content
    assert second.json()["amount"] == D("790")  # the rest of the amount due by default
    shown = _invoice(tenant, invoice.id)
    assert (shown["amount_due"], shown["status"]) == (D("0"), "paid")
    assert [p["amount"] for p in shown["payments"]] == [D("400"), D("790")]


def test_an_overpayment_of_the_rest_leaves_the_excess_as_credit(tenant, invoice):
    tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "1000"})

    response = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "191"})

    assert response.status_code == 201, response.content
    assert [a["amount"] for a in response.json()["allocations"]] == [D("190")]
    assert _invoice(tenant, invoice.id)["status"] == "paid"
    customer = tenant.client.get(f"/customers/{invoice.customer_id}/").json()
    assert customer["aggregations"]["credit_balance"] == D("1")


def test_one_payment_for_several_invoices(tenant, invoice):
    other = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)

    response = tenant.client.post(
        "/payments/",
        {
            "amount": "1690",
            "allocations": [
                {"invoice": invoice.id},
                {"invoice": other.id, "amount": "500"},
            ],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [(a["invoice"], a["amount"]) for a in body["allocations"]] == [
        (invoice.id, D("1190")),
        (other.id, D("500")),
    ]
    assert _invoice(tenant, invoice.id)["status"] == "paid"
    assert _invoice(tenant, other.id)["amount_due"] == D("690")


def test_allocations_that_do_not_add_up_to_the_amount_are_refused(tenant, invoice):
    response = tenant.client.post(
        "/payments/", {"amount": "100", "allocations": [{"invoice": invoice.id, "amount": "50"}]}
    )

    assert response.status_code == 400
    assert "amount" in response.json()
    assert Payment.objects.count() == 0


def test_an_allocation_refused_by_the_service_or_the_serializer_answers_one_shape(tenant, invoice):
    others = FinalizedInvoiceFactory(workspace=tenant.workspace)

    def second_allocation_paying(invoice_id):
        body = {"allocations": [{"invoice": invoice.id}, {"invoice": invoice_id}]}
        response = tenant.client.post("/payments/", body)
        assert response.status_code == 400, response.content
        return response.json()

    another_customers = second_allocation_paying(others.id)
    unknown = second_allocation_paying("inv_01UNKNOWN")

    assert list(another_customers) == list(unknown) == ["allocations"]
    assert list(another_customers["allocations"]) == list(unknown["allocations"]) == ["1"]
    assert another_customers["allocations"]["1"] == {
        "invoice": [f"Invoice {others.id} belongs to another customer."]
    }
    assert list(unknown["allocations"]["1"]) == ["invoice"]
    assert Payment.objects.count() == 0


def test_one_allocation_refused_is_named_by_its_place_in_the_list(tenant, invoice):
    others = FinalizedInvoiceFactory(workspace=tenant.workspace)
    body = {"customer": invoice.customer_id, "allocations": [{"invoice": others.id}]}

    response = tenant.client.post("/payments/", body)

    assert response.status_code == 400, response.content
    assert response.json() == {
        "allocations": {"0": {"invoice": [f"Invoice {others.id} belongs to another customer."]}}
    }


def test_a_draft_invoice_takes_no_payment(tenant, invoice):
    invoice.status = "draft"
    invoice.save()

    response = tenant.client.post("/payments/", {"invoice": invoice.id})

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_payable"


def test_a_refund_restores_the_amount_due_and_is_an_event(tenant, invoice):
    payment = tenant.client.post("/payments/", {"invoice": invoice.id}).json()
    assert _invoice(tenant, invoice.id)["status"] == "paid"

    partial = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "190"})

    assert partial.status_code == 200, partial.content
    assert (partial.json()["amount_refunded"], partial.json()["balance"]) == (D("190"), D("1000"))
    shown = _invoice(tenant, invoice.id)
    assert (shown["status"], shown["amount_due"]) == ("finalized", D("190"))
    assert shown["payments"][0]["amount_refunded"] == D("190")

    rest = tenant.client.post(f"/payments/{payment['id']}/refund/", {"reason": "duplicate"})

    assert rest.status_code == 200
    assert rest.json()["amount_refunded"] == D("1190")
    assert [r["amount"] for r in rest.json()["refunds"]] == [D("190"), D("1000")]
    assert _invoice(tenant, invoice.id)["amount_due"] == D("1190")
    refunded = Event.objects.filter(type="payment.refunded", object_id=payment["id"])
    assert refunded.count() == 2


def test_a_refund_beyond_the_payment_is_refused(tenant, invoice):
    payment = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "100"}).json()

    response = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "101"})

    assert response.status_code == 409
    assert response.json()["code"] == "refund_exceeds_payment"


def test_refunding_the_rest_of_a_payment_refunded_in_full_says_so(tenant, invoice):
    payment = tenant.client.post("/payments/", {"invoice": invoice.id}).json()
    assert tenant.client.post(f"/payments/{payment['id']}/refund/", {}).status_code == 200

    again = tenant.client.post(f"/payments/{payment['id']}/refund/", {})

    # No amount was sent: the refusal is the payment's, not a field's.
    assert again.status_code == 409, again.content
    assert again.json()["code"] == "payment_refunded"
    assert tenant.client.get(f"/payments/{payment['id']}/").json()["amount_refunded"] == D("1190")


def test_a_card_payment_waiting_for_authentication_holds_the_invoice_pending(tenant, invoice):
    source = _source(tenant, invoice.customer_id, sandbox.REQUIRES_AUTHENTICATION)

    waiting = tenant.client.post(
        "/payments/", {"invoice": invoice.id, "amount": "1190", "source": source["id"]}
    )

    assert waiting.status_code == 201, waiting.content
    assert waiting.json()["status"] == "processing"
    assert _invoice(tenant, invoice.id)["status"] == "pending"
    # What a processing payment holds cannot be paid twice.
    again = tenant.client.post("/payments/", {"invoice": invoice.id, "amount": "1"})
    assert again.json()["code"] == "invoice_nothing_due"

    cancelled = tenant.client.post(f"/payments/{waiting.json()['id']}/cancel/")

    assert cancelled.json()["status"] == "cancelled"
    assert _invoice(tenant, invoice.id)["status"] == "finalized"


def test_a_declined_card_is_a_failed_payment(tenant, invoice):
    source = _source(tenant, invoice.customer_id, sandbox.INSUFFICIENT_FUNDS)

    response = tenant.client.post("/payments/", {"invoice": invoice.id, "source": source["id"]})

    assert response.status_code == 201
    assert response.json()["status"] == "failed"
    assert response.json()["failed_reason"] == "insufficient_funds"
    assert _invoice(tenant, invoice.id)["amount_due"] == D("1190")


def test_a_payment_with_enable_checkout_waits_for_the_payer(tenant, invoice):
    waiting = tenant.client.post(
        "/payments/", {"invoice": invoice.id, "enable_checkout": True}, format="json"
    )
    contradiction = tenant.client.post(
        "/payments/",
        {"invoice": invoice.id, "enable_checkout": True, "status": "succeeded"},
        format="json",
    )
    received = tenant.client.post("/payments/", {"invoice": invoice.id}, format="json")

    assert waiting.status_code == 201, waiting.content
    assert waiting.json()["status"] == "requires_payment_method"
    assert contradiction.status_code == 400
    assert "status" in contradiction.json()
    assert received.json()["status"] == "succeeded"  # received outside the gateways
    assert _invoice(tenant, invoice.id)["status"] == "paid"


def test_authorize_charges_a_payment_waiting_for_a_method(tenant, invoice):
    waiting = tenant.client.post(
        "/payments/", {"invoice": invoice.id, "status": "requires_payment_method"}
    ).json()
    assert waiting["status"] == "requires_payment_method"
    source = _source(tenant, invoice.customer_id, sandbox.SUCCEEDS)

    response = tenant.client.post(f"/payments/{waiting['id']}/authorize/", {"source": source["id"]})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "succeeded"
    assert response.json()["source"] == source["id"]
    assert _invoice(tenant, invoice.id)["status"] == "paid"


def test_sources_show_the_card_but_never_its_number(tenant, invoice):
    source = _source(tenant, invoice.customer_id, "4242-4242-4242-4242")

    assert source["card"] == {"exp_month": 12, "exp_year": 2034, "brand": "visa", "last4": "4242"}
    assert "gateway_token" not in source
    customer = tenant.client.get(f"/customers/{invoice.customer_id}/").json()
    assert [s["id"] for s in customer["sources"]] == [source["id"]]
    assert customer["sources"][0]["last4"] == "4242"
    customers = tenant.client.get("/customers/").json()["results"]
    assert any(c["sources"] and c["sources"][0]["id"] == source["id"] for c in customers)


def test_a_customers_sources_are_the_cards_it_can_be_charged_with(tenant, invoice):
    kept = _source(tenant, invoice.customer_id, sandbox.SUCCEEDS)
    deleted = _source(tenant, invoice.customer_id, sandbox.SUCCEEDS)
    assert tenant.client.delete(f"/sources/{deleted['id']}/").status_code == 204

    customer = tenant.client.get(f"/customers/{invoice.customer_id}/").json()
    assert [s["id"] for s in customer["sources"]] == [kept["id"]]
    assert customer["sources"][0]["status"] == "chargeable"


def test_a_card_outside_the_sandbox_is_refused(tenant, invoice):
    response = tenant.client.post(
        "/sources/",
        {
            "customer": invoice.customer_id,
            "card": {"number": "5555555555554444", "exp_month": 12, "exp_year": 2034},
        },
    )

    assert response.status_code == 400
    assert list(response.json()) == ["card"]
    assert list(response.json()["card"]) == ["number"]
    assert "5555555555554444" not in response.content.decode()


@pytest.mark.parametrize(
    ("term", "expected"), [("mastercard", ["ana"]), ("4242", ["bruno"]), ("bruno", ["bruno"])]
)
def test_sources_search_card_brand_last4_and_customer_name(tenant, term, expected):
    scope = {"workspace": tenant.workspace, "test_mode": False}
    sources = {
        "ana": SourceFactory(
            **scope, customer__name="Ana Ltda", card_brand="mastercard", card_last4="4444"
        ),
        "bruno": SourceFactory(**scope, customer__name="Bruno SpA"),
    }

    listed = tenant.client.get("/sources/", {"search": term}).json()

    assert [s["id"] for s in listed["results"]] == [sources[name].id for name in expected]


def test_gateways_search_the_gateway_kind(tenant):
    PaymentGatewayFactory(workspace=tenant.workspace, gateway="stripe")

    listed = tenant.client.get("/payment_gateways/", {"search": "stripe"}).json()

    assert [g["gateway"] for g in listed["results"]] == ["stripe"]


def test_gateway_secrets_are_write_only(tenant, fake_stripe):
    created = tenant.client.post(
        "/payment_gateways/",
        {
            "gateway": "stripe",
            "publishable_key": "pk_live_123",
            "secret_key": LIVE_KEY,
            "webhook_secret": "whsec_very_secret",
        },
    )

    assert created.status_code == 201, created.content
    listed = tenant.client.get("/payment_gateways/")
    for body in (created.content, listed.content):
        assert LIVE_KEY.encode() not in body
        assert b"whsec_very_secret" not in body
    gateways = {g["gateway"]: g for g in listed.json()["results"]}
    assert set(gateways) == {"sandbox", "stripe"}
    assert gateways["stripe"]["has_secret_key"] is True
    assert PaymentGateway.objects.get(gateway="stripe").secret_key == LIVE_KEY


def test_card_numbers_are_never_taken_for_stripe(tenant, invoice, fake_stripe):
    tenant.client.post("/payment_gateways/", {"gateway": "stripe", "secret_key": LIVE_KEY})

    response = tenant.client.post(
        "/sources/",
        {
            "customer": invoice.customer_id,
            "gateway": "stripe",
            "card": {"number": sandbox.SUCCEEDS, "exp_month": 12, "exp_year": 2034},
        },
    )

    assert response.status_code == 400
    assert "Stripe Checkout" in response.json()["card"]["number"][0]
    assert sandbox.SUCCEEDS not in response.content.decode()


def test_a_disabled_sandbox_takes_no_cards(tenant, invoice):
    tenant.client.get("/payment_gateways/")
    sandbox_id = PaymentGateway.objects.get(gateway="sandbox").id
    tenant.client.patch(f"/payment_gateways/{sandbox_id}/", {"enabled": False})

    response = tenant.client.post(
        "/sources/",
        {
            "customer": invoice.customer_id,
            "card": {"number": sandbox.SUCCEEDS, "exp_month": 12, "exp_year": 2034},
        },
    )

    assert response.status_code == 409
    assert response.json()["code"] == "gateway_not_enabled"


def test_a_payment_link_for_an_invoice_and_its_public_json(tenant, invoice):
    created = tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id, "description": "Invoice 1"}
    )

    assert created.status_code == 201, created.content
    link = created.json()
    assert (link["amount"], link["currency"], link["status"]) == (D("1190"), "CLP", "open")
    assert link["url"].endswith(
        f"/publishable/payment_links/links/{link['publishable_key']}/hosted/"
    )

    public = tenant.client.credentials()  # no token at all
    public = tenant.client.get(f"/publishable/payment_links/links/{link['publishable_key']}/")

    assert public.status_code == 200
    assert set(public.json()) == {
        "publishable_key",
        "workspace",
        "amount",
        "currency",
        "description",
        "expires_at",
        "reusable",
        "url",
        "status",
    }
    assert public.json()["workspace"] == tenant.workspace.name


def test_an_unknown_publishable_key_is_a_404(client, db):
    assert client.get("/publishable/payment_links/links/pk_link_nope/").status_code == 404
    assert client.get("/publishable/payment_links/links/pk_link_nope/hosted/").status_code == 404


def test_publishable_json_hides_everything_but_the_link(tenant):
    link = PaymentLinkFactory(workspace=tenant.workspace, metadata={"internal": "secret-note"})

    response = tenant.client.get(f"/publishable/payment_links/links/{link.publishable_key}/")

    assert b"secret-note" not in response.content
    assert link.id.encode() not in response.content


def test_a_refund_pays_back_the_credit_a_credit_note_left_first(tenant, invoice):
    payment = tenant.client.post("/payments/", {"invoice": invoice.id}).json()  # 1,190
    note = tenant.client.post(
        "/creditnotes/",
        {"invoice": invoice.id, "reason": 3, "lines": [{"name": "Ajuste", "amount": "500"}]},
    ).json()  # 595
    tenant.client.post(f"/creditnotes/{note['id']}/finalize/")
    customer = f"/customers/{invoice.customer_id}/"
    assert tenant.client.get(customer).json()["aggregations"]["credit_balance"] == D("595")

    refunded = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "700"})

    assert refunded.status_code == 200, refunded.content
    # 595 of the refund pays back the credit; the other 105 is owed again.
    shown = _invoice(tenant, invoice.id)
    assert (shown["status"], shown["amount_due"]) == ("finalized", D("105"))
    assert tenant.client.get(customer).json()["aggregations"]["credit_balance"] == D("0")
    entries = tenant.client.get(f"{customer}balance_transactions/").json()["results"]
    assert [(e["kind"], e["amount"]) for e in entries] == [
        ("refund", D("-595")),
        ("credit_note", D("595")),
    ]


def test_a_payment_link_url_comes_from_public_url_not_the_host_header(tenant, invoice, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.PUBLIC_URL = "https://pay.example.com/"

    created = tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id}, HTTP_HOST="evil.example"
    )

    assert created.status_code == 201, created.content
    key = created.json()["publishable_key"]
    expected = f"https://pay.example.com/publishable/payment_links/links/{key}/hosted/"
    assert created.json()["url"] == expected
    public = APIClient().get(f"/publishable/payment_links/links/{key}/", HTTP_HOST="evil.example")
    assert public.json()["url"] == expected


@pytest.mark.django_db
def test_payment_links_filter_by_status(tenant):
    open_link = PaymentLinkFactory(workspace=tenant.workspace)
    paid = PaymentLinkFactory(
        workspace=tenant.workspace, paid_at=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    )
    expired = PaymentLinkFactory(
        workspace=tenant.workspace, expires_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    cancelled = PaymentLinkFactory(workspace=tenant.workspace, invoice=invoice)
    invoice.status = "cancelled"
    invoice.save(update_fields=["status"])

    def ids(status: str) -> list[str]:
        response = tenant.client.get("/payment_links/links/", {"status": status})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert (ids("open"), ids("paid"), ids("expired"), ids("cancelled")) == (
        [open_link.id], [paid.id], [expired.id], [cancelled.id],
    )  # fmt: skip
    assert tenant.client.get("/payment_links/links/", {"status": "bogus"}).status_code == 400


@pytest.mark.django_db
def test_intents_filter_by_customer_and_payments_by_gateway(tenant):
    customer = CustomerFactory(workspace=tenant.workspace)
    intent = IntentFactory(workspace=tenant.workspace, customer=customer)
    IntentFactory(workspace=tenant.workspace)
    stripe = PaymentFactory(workspace=tenant.workspace, gateway="stripe")
    PaymentFactory(workspace=tenant.workspace, gateway="sandbox")

    intents = tenant.client.get("/intents/", {"customer": customer.id})
    unknown = tenant.client.get("/intents/", {"customer": "cus_nope"})
    payments = tenant.client.get("/payments/", {"gateway": "stripe"})

    assert [row["id"] for row in intents.json()["results"]] == [intent.id]
    assert unknown.status_code == 404
    assert [row["id"] for row in payments.json()["results"]] == [stripe.id]
    assert tenant.client.get("/payments/", {"gateway": "paypal"}).status_code == 400


def _pay_both_then_credit_the_first(tenant, first, second):
    """One payment of both invoices (1,190 each); a credit note of 500 + IVA on the
    first leaves 595 of it as the customer's credit."""
    payment = tenant.client.post(
        "/payments/",
        {"amount": "2380", "allocations": [{"invoice": first.id}, {"invoice": second.id}]},
        format="json",
    ).json()
    note = tenant.client.post(
        "/creditnotes/",
        {"invoice": first.id, "reason": 3, "lines": [{"name": "Ajuste", "amount": "500"}]},
        format="json",
    ).json()
    tenant.client.post(f"/creditnotes/{note['id']}/finalize/")
    return payment


def test_a_refund_of_several_invoices_uses_the_credit_up_before_reopening_any(tenant, invoice):
    second = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)
    payment = _pay_both_then_credit_the_first(tenant, invoice, second)
    customer = f"/customers/{invoice.customer_id}/"

    refunded = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "300"})

    assert refunded.status_code == 200, refunded.content
    assert refunded.json()["amount_refunded"] == D("300")
    # The credit covers the whole refund: neither invoice owes anything again.
    for paid in (invoice, second):
        shown = _invoice(tenant, paid.id)
        assert (shown["status"], shown["amount_due"]) == ("paid", D("0"))
    aggregations = tenant.client.get(customer).json()["aggregations"]
    assert (aggregations["credit_balance"], aggregations["balance"]) == (D("295"), D("-295"))


def test_a_refund_beyond_the_credit_reopens_the_last_allocated_invoice(tenant, invoice):
    second = FinalizedInvoiceFactory(workspace=tenant.workspace, customer=invoice.customer)
    payment = _pay_both_then_credit_the_first(tenant, invoice, second)
    customer = f"/customers/{invoice.customer_id}/"

    refunded = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "700"})

    assert refunded.status_code == 200, refunded.content
    # 595 pays the credit back (through the first invoice's share); the other 105 comes
    # off the last allocation, which is owed again.
    assert (_invoice(tenant, invoice.id)["status"], _invoice(tenant, invoice.id)["amount_due"]) == (
        "paid",
        D("0"),
    )
    shown = _invoice(tenant, second.id)
    assert (shown["status"], shown["amount_due"]) == ("finalized", D("105"))
    aggregations = tenant.client.get(customer).json()["aggregations"]
    assert (aggregations["credit_balance"], aggregations["balance"]) == (D("0"), D("105"))


def test_an_invoice_owed_again_after_a_refund_announces_it(tenant, invoice):
    payment = tenant.client.post("/payments/", {"invoice": invoice.id}).json()

    refunded = tenant.client.post(f"/payments/{payment['id']}/refund/", {"amount": "100"})

    assert refunded.status_code == 200, refunded.content
    log = tenant.client.get("/events/log/", {"type": "invoice.updated"}).json()["results"]
    assert [(e["object_id"], e["data"]["status"], e["data"]["amount_due"]) for e in log] == [
        (invoice.id, "finalized", D("100"))
    ]


# A payment received outside the gateways, with the date it was received (Piriod's
# `payment_date` is writable on create).


def test_a_payment_received_outside_keeps_the_payment_date_sent(tenant, invoice):
    response = tenant.client.post(
        "/payments/",
        {"invoice": invoice.id, "payment_date": "2026-01-20T15:30:00Z"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "succeeded"
    assert response.json()["payment_date"] == "2026-01-20T15:30:00Z"
    assert _invoice(tenant, invoice.id)["status"] == "paid"


def test_a_bare_payment_date_is_its_midnight_in_the_workspace(tenant, invoice):
    response = tenant.client.post(
        "/payments/", {"invoice": invoice.id, "payment_date": "2026-01-20"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["payment_date"] == "2026-01-20T03:00:00Z"  # Santiago, summer


@pytest.mark.parametrize(
    ("payment_date", "extra"),
    [
        ("2026-01-14T23:00:00-03:00", {}),  # the day before the invoice's date (Jan 15)
        ("2999-01-01", {}),  # after the workspace's today
        ("yesterday", {}),
        ("2026-01-20", {"status": "requires_payment_method"}),  # not received yet
    ],
)
def test_a_bad_payment_date_is_a_400_on_the_field(tenant, invoice, payment_date, extra):
    response = tenant.client.post(
        "/payments/",
        {"invoice": invoice.id, "payment_date": payment_date, **extra},
        format="json",
    )

    assert response.status_code == 400, response.json()
    assert "payment_date" in response.json()
    assert not Payment.objects.exists()


@pytest.mark.parametrize("resource", ["invoices", "creditnotes", "debitnotes", "orders"])
def test_documents_refuse_a_payment_date_rather_than_dropping_it(tenant, invoice, resource):
    response = tenant.client.post(f"/{resource}/", {"payment_date": "2026-01-20"}, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["payment_date"] == ["Unknown field."]


def test_a_payment_link_cannot_ask_more_than_its_invoice_owes(tenant, invoice):
    over = tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id, "amount": 20000}, format="json"
    )
    whole = tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id, "amount": 1190}, format="json"
    )
    part = tenant.client.post(
        "/payment_links/links/", {"invoice": invoice.id, "amount": 500}, format="json"
    )
    free = tenant.client.post(
        "/payment_links/links/", {"amount": 20000, "currency": "CLP"}, format="json"
    )

    assert over.status_code == 400, over.content
    assert "1190" in over.json()["amount"][0]
    assert (whole.status_code, whole.json()["amount"]) == (201, D("1190"))
    assert (part.status_code, part.json()["amount"]) == (201, D("500"))
    assert (free.status_code, free.json()["amount"]) == (201, D("20000"))
    assert PaymentLink.objects.filter(invoice=invoice).count() == 2


def test_a_payment_link_cannot_be_changed(tenant, invoice):
    link = tenant.client.post("/payment_links/links/", {"invoice": invoice.id}).json()

    changed = tenant.client.patch(
        f"/payment_links/links/{link['id']}/", {"amount": 20000}, format="json"
    )

    assert changed.status_code == 405
    assert PaymentLink.objects.get(pk=link["id"]).amount == D("1190")
