"""Orders: server-side prices and totals, coupons, transitions, and the draft invoice."""

from datetime import date, datetime
from decimal import Decimal
from unittest.mock import ANY

import pytest
import time_machine

from billing.models import Event
from catalog.models import PlanTier
from catalog.tests.factories import CouponFactory, PlanFactory, ProductFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice, Order
from invoices.tests.pdf_helpers import pdf_text
from organization.tests.factories import OrgUnitFactory
from tests.api_errors import field_error
from tests.numbers import D

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant):
    return CustomerFactory(workspace=tenant.workspace)


def order_body(customer, **overrides):
    return {
        "customer": customer.id,
        "items": [
            {"name": "Consultoría", "amount": "10000", "quantity": "3"},
            {"name": "Setup", "amount": "4990", "discount": "10"},
            {"name": "Seguro", "amount": "2500", "quantity": 2, "exempt": True},
        ],
        **overrides,
    }


def create(tenant, customer, **overrides):
    return tenant.client.post("/orders/", order_body(customer, **overrides), format="json")


def test_an_order_is_priced_by_the_server(tenant, customer):
    response = create(tenant, customer, note="Pedido 42")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("ord_")
    assert (body["status"], body["currency"], body["document"], body["invoice"]) == (
        "draft",
        "CLP",
        33,
        None,
    )
    # 30,000 + 4,491 taxable, 5,000 exempt; IVA once on the net: 34,491 × 19% = 6,553.29.
    assert [item["total"] for item in body["items"]] == [D("30000"), D("4491"), D("5000")]
    assert (body["amount"], body["exempt"], body["subtotal"], body["tax"], body["total"]) == (
        D("34491"),
        D("5000"),
        D("39491"),
        D("6553"),
        D("46044"),
    )
    assert body["tax_percent"] == D("19")
    assert Event.objects.filter(type="order.created", object_id=body["id"]).exists()


def test_a_percent_coupon_by_code_is_the_document_discount(tenant, customer):
    CouponFactory(workspace=tenant.workspace, code="WELCOME10", amount=Decimal(10))

    body = create(tenant, customer, coupon="welcome10").json()

    # 39,491 − 10% (3,949, spread 3,449 taxable / 500 exempt) → 31,042 + 4,500; IVA 5,898.
    assert (body["discount"], body["discount_scheme"], body["discount_amount"]) == (
        D("10"),
        "%",
        D("3949"),
    )
    assert (body["amount"], body["exempt"], body["tax"], body["total"]) == (
        D("31042"),
        D("4500"),
        D("5898"),
        D("41440"),
    )
    assert body["coupon"].startswith("cou_")


def test_an_amount_coupon_by_id_is_capped_at_the_subtotal(tenant, customer):
    small = CouponFactory(
        workspace=tenant.workspace, discount_scheme="$", amount=Decimal(1000), currency_id="CLP"
    )
    huge = CouponFactory(
        workspace=tenant.workspace, discount_scheme="$", amount=Decimal(10**6), currency_id="CLP"
    )

    with_small = create(tenant, customer, coupon=small.id).json()
    with_huge = create(tenant, customer, coupon=huge.id).json()

    assert (with_small["coupon"], with_small["discount_amount"], with_small["subtotal"]) == (
        small.id,
        D("1000"),
        D("38491"),
    )
    assert (with_huge["discount"], with_huge["total"]) == (D("39491"), D("0"))


@pytest.mark.parametrize(
    "coupon",
    [
        {"code": "OLD", "valid_until_date": date(2020, 1, 1)},
        {"code": "GONE", "status": "archived"},
        {"code": "USD", "discount_scheme": "$", "amount": Decimal(5), "currency_id": "USD"},
    ],
)
def test_unusable_coupons_are_400_on_coupon(tenant, customer, coupon):
    CouponFactory(workspace=tenant.workspace, **coupon)

    response = create(tenant, customer, coupon=coupon["code"])

    assert response.status_code == 400, response.json()
    assert "coupon" in response.json()


def test_another_tenants_coupon_plan_and_product_are_400(tenant, other_tenant, customer):
    coupon = CouponFactory(workspace=other_tenant.workspace, code="THEIRS")
    plan = PlanFactory(workspace=other_tenant.workspace)
    product = ProductFactory(workspace=other_tenant.workspace)
    test_mode_plan = PlanFactory(workspace=tenant.workspace, test_mode=True)

    responses = [
        create(tenant, customer, coupon=coupon.id),
        create(tenant, customer, coupon="THEIRS"),
        create(tenant, customer, items=[{"plan": plan.id}]),
        create(tenant, customer, items=[{"plan": test_mode_plan.id}]),
        create(tenant, customer, items=[{"product": product.id, "amount": "1"}]),
    ]

    assert [r.status_code for r in responses] == [400] * 5
    assert [r.json() for r in responses] == [
        {"coupon": ANY},
        {"coupon": ANY},
        {"items": {"0": {"plan": ANY}}},
        {"items": {"0": {"plan": ANY}}},
        {"items": {"0": {"product": ANY}}},
    ]
    assert not Order.objects.exists()


def test_plan_items_take_their_price_and_name_from_the_catalog(tenant, customer):
    plan = PlanFactory(workspace=tenant.workspace, amount=Decimal("12500.5"), name="Pro mensual")
    product = ProductFactory(workspace=tenant.workspace, name="Soporte", unit_label="hora")

    body = create(
        tenant,
        customer,
        items=[{"plan": plan.id, "quantity": "2"}, {"product": product.id, "amount": "30000"}],
    ).json()

    plan_item, product_item = body["items"]
    assert (plan_item["name"], plan_item["product"], plan_item["total"]) == (
        "Pro mensual",
        plan.product_id,
        D("25001"),
    )
    assert Decimal(plan_item["amount"]) == Decimal("12500.5")
    assert (product_item["name"], product_item["unit_label"], product_item["total"]) == (
        "Soporte",
        "hora",
        D("30000"),
    )


def test_a_tiered_plan_is_priced_by_the_catalog(tenant, customer):
    plan = PlanFactory(workspace=tenant.workspace, tiers_mode="range")
    PlanTier.objects.create(plan=plan, position=0, up_to=10, amount=Decimal(1000))
    PlanTier.objects.create(plan=plan, position=1, up_to=None, amount=Decimal(700))

    body = create(tenant, customer, items=[{"plan": plan.id, "quantity": "15"}]).json()

    # 10 × 1,000 + 5 × 700 = 13,500 for 15 units.
    assert body["items"][0]["total"] == D("13500")
    assert body["subtotal"] == D("13500")


def test_a_graduated_item_is_its_exact_tier_sum_on_the_order_and_its_invoice(tenant, customer):
    # 1000 × 1 + 1000 + 9000 × 0.8 + 989 999 × 0.5 = 504 199.5 → 504 200, not the
    # 504 199 its six-decimal average unit price (0.5042) gives.
    plan = PlanFactory(workspace=tenant.workspace, tiers_mode="range", amount=Decimal(0))
    PlanTier.objects.create(
        plan=plan, position=0, up_to=1000, amount=Decimal(1), flat_amount=Decimal(1000)
    )
    PlanTier.objects.create(plan=plan, position=1, up_to=10000, amount=Decimal("0.8"))
    PlanTier.objects.create(plan=plan, position=2, up_to=None, amount=Decimal("0.5"))

    order = create(tenant, customer, items=[{"plan": plan.id, "quantity": "999999"}]).json()
    tenant.client.post(f"/orders/{order['id']}/confirm/")
    invoiced = tenant.client.post(f"/orders/{order['id']}/invoice/").json()
    invoice = tenant.client.get(f"/invoices/{invoiced['invoice']}/").json()

    assert (order["items"][0]["amount"], order["items"][0]["total"]) == (D("0.504200"), D("504200"))
    assert (order["subtotal"], order["total"]) == (D("504200"), D("599998"))
    assert (invoice["lines"][0]["total"], invoice["subtotal"], invoice["total"]) == (
        D("504200"),
        D("504200"),
        D("599998"),
    )


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"name": "x"}, "items.0.amount"),
        ({"amount": "1"}, "items.0.name"),
        ({"plan": "PLAN", "amount": "1"}, "items.0.amount"),
        ({"plan": "METERED"}, "items.0.plan"),
        ({"plan": "USD"}, "items.0.plan"),
        ({"plan": "ARCHIVED"}, "items.0.plan"),
        ({"plan": "OF_ARCHIVED_PRODUCT"}, "items.0.plan"),
        ({"plan": "pla_missing"}, "items.0.plan"),
        (
            {"name": "x", "amount": "10", "discount": "11", "discount_scheme": "$"},
            "items.0.discount",
        ),
        ({"name": "x", "amount": "-1"}, "items"),
    ],
)
def test_bad_items_are_400_on_the_item(tenant, customer, item, field):
    plans = {
        "PLAN": PlanFactory(workspace=tenant.workspace).id,
        "METERED": PlanFactory(workspace=tenant.workspace, usage_scheme="metered").id,
        "USD": PlanFactory(workspace=tenant.workspace, currency_id="USD").id,
        "ARCHIVED": PlanFactory(workspace=tenant.workspace, status="archived").id,
        # Archiving a product stops the sale of its plans too.
        "OF_ARCHIVED_PRODUCT": PlanFactory(
            workspace=tenant.workspace, product__status="archived"
        ).id,
    }
    if item.get("plan") in plans:
        item = {**item, "plan": plans[item["plan"]]}

    response = create(tenant, customer, items=[item])

    assert response.status_code == 400, response.json()
    assert field_error(response.json(), field)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"items": []}, "items"),
        ({"currency": "USD"}, "currency"),  # invoices are issued in the customer's currency
        ({"document": 61}, "document"),
        ({"document": 1000}, "document"),
    ],
)
def test_bad_orders_are_400_on_the_field(tenant, customer, overrides, field):
    response = create(tenant, customer, **overrides)

    assert response.status_code == 400, response.json()
    assert field in response.json()


def test_confirm_then_invoice_creates_the_matching_draft_invoice(tenant, customer):
    CouponFactory(workspace=tenant.workspace, code="TEN", amount=Decimal(10))
    plan = PlanFactory(workspace=tenant.workspace, amount=Decimal(9990))
    order = create(
        tenant,
        customer,
        coupon="TEN",
        note="OC 123",
        items=[*order_body(customer)["items"], {"plan": plan.id}],
    ).json()

    confirmed = tenant.client.post(f"/orders/{order['id']}/confirm/")
    with time_machine.travel(datetime.fromisoformat("2026-04-01T02:30:00+00:00"), tick=False):
        invoiced = tenant.client.post(f"/orders/{order['id']}/invoice/")

    assert confirmed.json()["status"] == "confirmed"
    assert invoiced.status_code == 200, invoiced.json()
    assert invoiced.json()["status"] == "invoiced"
    invoice = Invoice.objects.get(pk=invoiced.json()["invoice"])
    assert (invoice.status, invoice.document_id, invoice.customer_id) == ("draft", 33, customer.id)
    assert invoice.date == date(2026, 3, 31)  # still March in Santiago
    assert (invoice.discount, invoice.discount_scheme, invoice.note) == (Decimal(10), "%", "OC 123")
    lines = list(invoice.lines.order_by("position"))
    assert [(line.name, line.total) for line in lines] == [
        (item["name"], Decimal(item["total"])) for item in order["items"]
    ]
    assert lines[-1].plan_id == plan.id
    for name in ("amount", "exempt", "discount_amount", "subtotal", "tax", "total"):
        assert getattr(invoice, name) == Decimal(order[name]), name
    types = (
        Event.objects.filter(object_id=order["id"])
        .order_by("sequence")
        .values_list("type", flat=True)
    )
    assert list(types) == ["order.created", "order.confirmed", "order.invoiced"]
    assert tenant.client.get("/orders/", {"invoice": invoice.id}).json()["count"] == 1


def test_a_draft_order_is_confirmed_before_it_is_invoiced(tenant, customer):
    order = create(tenant, customer).json()

    response = tenant.client.post(f"/orders/{order['id']}/invoice/")

    assert (response.status_code, response.json()["code"]) == (409, "order_not_confirmed")
    assert tenant.client.get(f"/orders/{order['id']}/").json()["status"] == "draft"
    assert not Invoice.objects.exists()


def test_transitions_and_writes_after_draft_are_refused(tenant, customer):
    order = create(tenant, customer).json()
    url = f"/orders/{order['id']}/"
    tenant.client.post(f"{url}confirm/")

    edit_confirmed = tenant.client.patch(url, {"note": "x"}, format="json")
    confirm_again = tenant.client.post(f"{url}confirm/")
    tenant.client.post(f"{url}invoice/")
    invoice_again = tenant.client.post(f"{url}invoice/")
    confirm_invoiced = tenant.client.post(f"{url}confirm/")
    delete_invoiced = tenant.client.delete(url)

    assert (edit_confirmed.status_code, edit_confirmed.json()["code"]) == (409, "order_not_draft")
    assert [r.json()["code"] for r in (confirm_again, invoice_again, confirm_invoiced)] == [
        "order_invalid_transition"
    ] * 3
    assert (delete_invoiced.status_code, delete_invoiced.json()["code"]) == (409, "order_invoiced")
    assert Invoice.objects.count() == 1


@pytest.mark.parametrize("confirm", [False, True])
def test_drafts_and_confirmed_orders_can_be_deleted(tenant, customer, confirm):
    order = create(tenant, customer).json()
    if confirm:
        tenant.client.post(f"/orders/{order['id']}/confirm/")

    assert tenant.client.delete(f"/orders/{order['id']}/").status_code == 204
    assert not Order.objects.exists()


def test_a_draft_is_repriced_on_update(tenant, customer):
    coupon = CouponFactory(workspace=tenant.workspace, code="TEN", amount=Decimal(10))
    order = create(tenant, customer, coupon="TEN").json()
    url = f"/orders/{order['id']}/"

    new_items = tenant.client.patch(
        url, {"items": [{"name": "Solo", "amount": "1000"}]}, format="json"
    )
    note_only = tenant.client.patch(url, {"note": "x"}, format="json")
    no_coupon = tenant.client.patch(url, {"coupon": None}, format="json")

    assert (new_items.json()["coupon"], new_items.json()["total"]) == (
        coupon.id,
        D("1071"),
    )  # 900 + 171
    assert note_only.json()["total"] == D("1071")
    assert (no_coupon.json()["coupon"], no_coupon.json()["total"]) == (None, D("1190"))


def test_amounts_too_large_to_store_are_400_not_500(tenant, customer):
    plan = PlanFactory(workspace=tenant.workspace, tiers_mode="unit")
    PlanTier.objects.create(plan=plan, position=0, up_to=None, flat_amount=Decimal(10**17))
    huge_line = {"name": "x", "amount": "999999999999999999", "quantity": "999999999999"}

    responses = [
        create(tenant, customer, items=[huge_line]),
        create(tenant, customer, items=[{"plan": plan.id, "quantity": "0.000001"}]),
    ]

    assert [r.status_code for r in responses] == [400, 400]
    assert all("items" in r.json() for r in responses)


def test_a_new_customer_brings_its_currency(tenant, customer):
    order = create(tenant, customer).json()
    usd_customer = CustomerFactory(
        workspace=tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )

    response = tenant.client.patch(
        f"/orders/{order['id']}/",
        {"customer": usd_customer.id, "document": 110},  # a sale in dollars is an export
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["customer"], response.json()["currency"]) == (usd_customer.id, "USD")


def test_a_new_customer_in_another_currency_needs_the_plan_items_again(tenant, customer):
    # The plan prices its item in pesos: kept on a dollar order it would bill 10,000 USD.
    plan = PlanFactory(workspace=tenant.workspace, amount=Decimal(10000))
    usd_plan = PlanFactory(workspace=tenant.workspace, currency_id="USD", amount=Decimal(25))
    order = create(tenant, customer, items=[{"plan": plan.id}]).json()
    usd_customer = CustomerFactory(
        workspace=tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )
    move = {"customer": usd_customer.id, "document": 110}

    kept = tenant.client.patch(f"/orders/{order['id']}/", move, format="json")
    resent = tenant.client.patch(
        f"/orders/{order['id']}/", {**move, "items": [{"plan": usd_plan.id}]}, format="json"
    )

    assert kept.status_code == 400, kept.json()
    assert field_error(kept.json(), "items.0.plan")
    assert resent.status_code == 200, resent.json()
    assert (resent.json()["currency"], resent.json()["total"]) == ("USD", D("25"))


def test_an_order_in_dollars_is_invoiced_as_an_export(tenant):
    usd_customer = CustomerFactory(
        workspace=tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )

    factura = create(tenant, usd_customer)  # the workspace's main type: 33, in pesos
    export = create(tenant, usd_customer, document=110)

    assert factura.status_code == 400, factura.json()
    assert factura.json()["code"] == "document_currency_mismatch"
    assert export.status_code == 201, export.json()
    assert (export.json()["currency"], export.json()["document"]) == ("USD", 110)


# Piriod's order shape: `date`, `lines` and the shipping fields, beside `items`.

PIRIOD_ORDER = {
    "document": 33,
    "date": "2026-03-02",
    "address": "Av. Apoquindo 4500, Las Condes",
    "state": "RM",
    "carrier_id": "12.345.678-5",
    "carrier_name": "Juan Pérez",
    "licence_plate": "KLTR21",
    "shipping_type": "1",
}


def test_piriods_order_body_is_accepted_with_lines_and_shipping(tenant, customer):
    body = {
        "customer": customer.id,
        **PIRIOD_ORDER,
        "lines": [{"name": "My physical product", "quantity": 4, "amount": 500}],
    }

    response = tenant.client.post("/orders/", body, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    for field, value in PIRIOD_ORDER.items():
        assert body[field] == value, field
    # One list under both names, one set of totals (2,000 net + 19 % IVA).
    assert body["lines"] == body["items"]
    assert [line["name"] for line in body["lines"]] == ["My physical product"]
    assert Decimal(str(body["amount"])) == Decimal("2000")
    assert Decimal(str(body["total"])) == Decimal("2380")
    order = Order.objects.get(pk=body["id"])
    assert (order.date, order.items.count(), order.total) == (date(2026, 3, 2), 1, Decimal(2380))


def test_an_order_without_a_date_is_dated_today_in_the_workspace(tenant, customer):
    with time_machine.travel(datetime.fromisoformat("2026-04-01T02:30:00+00:00"), tick=False):
        response = create(tenant, customer)

    assert response.json()["date"] == "2026-03-31"  # still March in Santiago


def test_lines_replace_the_items_on_update_and_reprice(tenant, customer):
    order = create(tenant, customer).json()

    response = tenant.client.put(
        f"/orders/{order['id']}/",
        {"lines": [{"name": "Flete", "amount": 10000}], "carrier_name": "Ana"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [item["name"] for item in body["items"]] == ["Flete"]
    assert Decimal(str(body["total"])) == Decimal("11900")
    assert (body["carrier_name"], body["date"]) == ("Ana", order["date"])


def test_a_retrieved_piriod_order_put_back_is_accepted(tenant, customer):
    order = create(tenant, customer, **PIRIOD_ORDER).json()

    response = tenant.client.put(f"/orders/{order['id']}/", order, format="json")

    assert response.status_code == 200, response.json()
    assert Decimal(str(response.json()["total"])) == Decimal(str(order["total"]))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"items": None}, "items"),  # neither items nor lines
        ({"lines": [{"name": "Otro", "amount": 1}]}, "lines"),  # both, and they differ
        ({"items": None, "lines": []}, "lines"),
        ({"items": None, "date": "2026-13-01", "lines": [{"name": "A", "amount": 1}]}, "date"),
    ],
)
def test_bad_piriod_orders_are_400_on_the_field(tenant, customer, overrides, field):
    body = {k: v for k, v in order_body(customer, **overrides).items() if v is not None}

    response = tenant.client.post("/orders/", body, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()


# Piriod's order routes: `finalize` (GET, as Piriod documents it, or POST) and `pdf`.


@pytest.mark.parametrize("method", ["get", "post"])
def test_finalize_is_piriods_name_for_confirm(tenant, customer, method):
    order = create(tenant, customer).json()

    response = getattr(tenant.client, method)(f"/orders/{order['id']}/finalize/")
    again = getattr(tenant.client, method)(f"/orders/{order['id']}/finalize/")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "confirmed"
    if method == "get":  # a retried GET answers the order it confirmed
        assert (again.status_code, again.json()) == (200, response.json())
    else:
        assert (again.status_code, again.json()["code"]) == (409, "order_invalid_transition")
    assert Event.objects.filter(type="order.confirmed", object_id=order["id"]).count() == 1


@pytest.mark.parametrize("confirm", [False, True])
def test_an_order_is_served_as_a_pdf(tenant, customer, confirm, tmp_path):
    order = create(tenant, customer, note="Pedido 42").json()
    if confirm:
        tenant.client.post(f"/orders/{order['id']}/confirm/")

    response = tenant.client.get(f"/orders/{order['id']}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert order["id"] in response["Content-Disposition"]
    path = tmp_path / "order.pdf"
    path.write_bytes(response.content)
    text = pdf_text(path)
    assert "Orden de venta" in text
    assert ("Borrador" in text) is not confirm
    assert (f"N° {order['id']}" in text) is confirm
    for name in ("Consultoría", "Setup", "Seguro", "Pedido 42", customer.name, "46.044"):
        assert name in text, name


def test_an_orders_pdf_prints_the_branch_it_names_as_its_invoice_will(tenant, customer, tmp_path):
    unit = OrgUnitFactory(
        workspace=tenant.workspace, name="Sucursal Centro", address="Huérfanos 1160",
        sii_branch_code="81234567",
    )  # fmt: skip
    order = create(tenant, customer, orgunit=unit.id).json()

    response = tenant.client.get(f"/orders/{order['id']}/pdf/")

    path = tmp_path / "order.pdf"
    path.write_bytes(response.content)
    assert "Sucursal: Sucursal Centro Huérfanos 1160 (81234567)" in pdf_text(path)


def test_another_tenants_order_has_no_pdf(tenant, other_tenant):
    order = create(other_tenant, CustomerFactory(workspace=other_tenant.workspace)).json()

    assert tenant.client.get(f"/orders/{order['id']}/pdf/").status_code == 404
    assert tenant.client.get(f"/orders/{order['id']}/finalize/").status_code == 404


def test_an_order_moved_from_an_exempt_type_to_a_taxed_one_needs_its_items_again(tenant, customer):
    order = create(tenant, customer, document=34).json()
    assert order["tax"] == 0

    kept = tenant.client.patch(f"/orders/{order['id']}/", {"document": 33}, format="json")
    resent = tenant.client.patch(
        f"/orders/{order['id']}/",
        {"document": 33, "items": order_body(customer)["items"]},
        format="json",
    )

    assert kept.status_code == 400, kept.json()
    assert "exempt" in kept.json()["items"][0]
    assert resent.status_code == 200, resent.json()
    assert [item["exempt"] for item in resent.json()["items"]] == [False, False, True]
    assert resent.json()["tax"] == D("6553")


def test_an_amount_coupon_on_a_boleta_can_take_off_its_whole_gross_price(tenant, customer):
    # A boleta's prices include IVA: a coupon worth more than the order takes off all of
    # its 5,950, not only the 5,000 net of it.
    huge = CouponFactory(
        workspace=tenant.workspace, discount_scheme="$", amount=Decimal(10000), currency_id="CLP"
    )
    part = CouponFactory(
        workspace=tenant.workspace, discount_scheme="$", amount=Decimal(5500), currency_id="CLP"
    )
    items = [{"name": "Polera", "amount": "5950"}]

    free = create(tenant, customer, document=39, items=items, coupon=huge.id).json()
    partly = create(tenant, customer, document=39, items=items, coupon=part.id).json()

    assert (free["discount"], free["discount_amount"], free["total"]) == (
        D("5950"),
        D("5950"),
        D("0"),
    )
    assert (partly["discount_amount"], partly["total"]) == (D("5500"), D("450"))


def test_orders_are_listed_by_date_range(tenant, customer):
    january = create(tenant, customer, date="2026-01-05").json()["id"]
    march = create(tenant, customer, date="2026-03-02").json()["id"]

    def listed(query):
        response = tenant.client.get(f"/orders/?{query}")
        assert response.status_code == 200, response.json()
        return [order["id"] for order in response.json()["results"]]

    assert listed("date__gte=2026-02-01") == [march]
    assert listed("date__lte=2026-02-01") == [january]
    assert listed("date=2026-01-05") == [january]
    assert listed("date__between=2026-01-01,2026-12-31") == [march, january]
