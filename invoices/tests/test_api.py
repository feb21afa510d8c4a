from datetime import date
from decimal import Decimal

import pytest

from billing.models import Event
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from tests.api_errors import field_error
from tests.numbers import D


@pytest.fixture
def customer(tenant):
    return CustomerFactory(workspace=tenant.workspace)


def invoice_body(customer, **overrides):
    return {
        "customer": customer.id,
        "document": 33,
        "date": "2026-03-31",
        "lines": [
            {"name": "Plan Pro", "amount": "10000", "quantity": "3"},
            {"name": "Setup", "amount": "4990", "discount": "10"},
            {"name": "Seguro", "amount": "2500", "quantity": 2, "exempt": True},
        ],
        "discount": "5",
        **overrides,
    }


def test_create_a_draft_with_lines_and_server_computed_totals(tenant, customer):
    response = tenant.client.post("/invoices/", invoice_body(customer), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("inv_")
    assert body["status"] == "draft"
    assert body["number"] is None
    assert body["currency"] == "CLP"
    assert (body["amount"], body["exempt"], body["tax"], body["total"]) == (
        D("32766"),
        D("4750"),
        D("6226"),
        D("43742"),
    )
    assert body["tax_percent"] == D("19")
    assert [line["total"] for line in body["lines"]] == [D("30000"), D("4491"), D("5000")]
    assert Event.objects.filter(type="invoice.created", object_id=body["id"]).exists()


def test_finalize_numbers_the_invoice_and_freezes_it(tenant, customer):
    first = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()
    second = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()

    finalized_second = tenant.client.post(f"/invoices/{second['id']}/finalize/")
    finalized_first = tenant.client.post(f"/invoices/{first['id']}/finalize/")

    assert finalized_second.status_code == 200, finalized_second.json()
    assert finalized_second.json()["number"] == 1
    assert finalized_first.json()["number"] == 2
    assert finalized_first.json()["status"] == "finalized"
    assert finalized_first.json()["biller_status"] == "pending"
    patch = tenant.client.patch(f"/invoices/{first['id']}/", {"note": "x"}, format="json")
    assert patch.status_code == 409
    assert patch.json()["code"] == "invoice_not_draft"
    assert tenant.client.delete(f"/invoices/{first['id']}/").status_code == 409
    again = tenant.client.post(f"/invoices/{first['id']}/finalize/")
    assert again.status_code == 409
    assert again.json()["code"] == "invoice_invalid_transition"


def test_draft_lines_are_replaced_on_update(tenant, customer):
    created = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()

    response = tenant.client.patch(
        f"/invoices/{created['id']}/",
        {"lines": [{"name": "Only", "amount": "150"}], "discount": "0"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert [line["name"] for line in response.json()["lines"]] == ["Only"]
    assert response.json()["tax"] == D("29")  # 19% of 150 = 28,5 → 29
    assert Invoice.objects.get(pk=created["id"]).total == Decimal(179)


def test_a_draft_edit_is_announced_with_the_new_totals(tenant, customer):
    created = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()

    response = tenant.client.patch(
        f"/invoices/{created['id']}/",
        {"lines": [{"name": "Only", "amount": "150"}], "discount": "0"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    log = tenant.client.get("/events/log/", {"type": "invoice.updated"}).json()["results"]
    assert [(e["object_id"], e["data"]["status"], e["data"]["total"]) for e in log] == [
        (created["id"], "draft", D("179"))
    ]


def test_uncollectible_toggles_and_sets_the_timestamp(tenant, customer):
    created = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()
    tenant.client.post(f"/invoices/{created['id']}/finalize/")

    marked = tenant.client.post(f"/invoices/{created['id']}/uncollectible/").json()
    cleared = tenant.client.post(f"/invoices/{created['id']}/uncollectible/").json()

    assert marked["status"] == "uncollectible"
    assert marked["uncollectible"] is not None
    assert cleared["status"] == "finalized"
    assert cleared["uncollectible"] is None


STATUS_BY_ACTIONS = ["The status changes with the finalize, uncollectible and cancel actions."]
NUMBER_AT_FINALIZE = ["The number is assigned at finalize."]


@pytest.mark.parametrize(
    ("override", "errors"),
    [
        ({"status": "finalized"}, {"status": STATUS_BY_ACTIONS}),
        (
            {"status": "paid", "number": 7},
            {"status": STATUS_BY_ACTIONS, "number": NUMBER_AT_FINALIZE},
        ),
    ],
)
def test_a_create_setting_a_status_or_number_is_refused(tenant, customer, override, errors):
    response = tenant.client.post("/invoices/", invoice_body(customer, **override), format="json")

    assert response.status_code == 400, response.json()
    assert response.json() == errors
    assert not Invoice.objects.filter(workspace=tenant.workspace).exists()


def test_a_create_asking_to_import_the_invoice_is_refused_not_dropped(tenant, customer):
    # Piriod's schema shows `imported`; here an invoice is always issued, never imported.
    refused = tenant.client.post("/invoices/", invoice_body(customer, imported=True), format="json")
    repeated = tenant.client.post(
        "/invoices/", invoice_body(customer, imported=False), format="json"
    )

    assert refused.status_code == 400, refused.json()
    assert list(refused.json()) == ["imported"]
    assert repeated.status_code == 201, repeated.json()
    assert Invoice.objects.filter(workspace=tenant.workspace).count() == 1


def test_a_create_may_repeat_what_a_new_invoice_shows(tenant, customer):
    body = invoice_body(customer, status="draft", number=None)

    response = tenant.client.post("/invoices/", body, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["status"], response.json()["number"]) == ("draft", None)


def test_an_update_may_repeat_the_status_but_not_change_it(tenant, customer):
    created = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()
    url = f"/invoices/{created['id']}/"

    repeated = tenant.client.put(url, {"status": "draft", "note": "Igual"}, format="json")
    changed = tenant.client.put(url, {"status": "finalized", "note": "Otra"}, format="json")

    assert repeated.status_code == 200, repeated.json()
    assert changed.status_code == 400, changed.json()
    assert changed.json() == {"status": STATUS_BY_ACTIONS}
    assert Invoice.objects.get(pk=created["id"]).note == "Igual"


@pytest.mark.parametrize("action", ["finalize", "uncollectible", "cancel", "send"])
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"number": 5}, {"number": ["Unknown field."]}),
        ([1], {"non_field_errors": ["This action takes no body; send none or {}."]}),
    ],
)
def test_an_action_refuses_a_body_it_would_not_read(tenant, customer, action, body, errors):
    created = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()
    url = f"/invoices/{created['id']}/"

    refused = tenant.client.post(f"{url}{action}/", body, format="json")

    assert refused.status_code == 400, refused.json()
    assert refused.json() == errors
    assert tenant.client.get(url).json() == created | {"updated": created["updated"]}


def test_an_action_takes_an_empty_object_as_piriods_client_sends(tenant, customer):
    created = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()

    finalized = tenant.client.post(f"/invoices/{created['id']}/finalize/", {}, format="json")

    assert finalized.status_code == 200, finalized.json()
    assert finalized.json()["number"] == 1


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"document": 61}, "document"),  # a credit note type is not an invoice
        ({"document": 1000}, "document"),  # another country's type
        ({"lines": [{"name": "x", "amount": "-1"}]}, "lines"),
        (
            {"lines": [{"name": "x", "amount": "1", "discount": "2", "discount_scheme": "$"}]},
            "lines.0.discount",
        ),
        ({"lines": [{"name": "x", "amount": "1", "discount": "101"}]}, "lines.0.discount"),
        ({"custom_change": "0.5"}, "custom_change"),
        ({"discount": "101"}, "discount"),
    ],
)
def test_bad_invoices_are_400_on_the_field(tenant, customer, override, field):
    response = tenant.client.post("/invoices/", invoice_body(customer, **override), format="json")

    assert response.status_code == 400, response.json()
    assert field_error(response.json(), field)


def test_a_line_may_name_only_a_plan_of_the_callers_tenant(tenant, other_tenant, customer):
    from catalog.tests.factories import PlanFactory

    own = PlanFactory(workspace=tenant.workspace)
    foreign = PlanFactory(workspace=other_tenant.workspace)
    line = {"name": "Pro", "amount": "1000"}

    refused = tenant.client.post(
        "/invoices/", invoice_body(customer, lines=[{**line, "plan": foreign.id}]), format="json"
    )
    accepted = tenant.client.post(
        "/invoices/", invoice_body(customer, lines=[{**line, "plan": own.id}]), format="json"
    )

    assert refused.status_code == 400
    assert "plan" in refused.json()["lines"]["0"]  # DRF keys nested errors by index
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["lines"][0]["plan"] == own.id


def test_a_new_line_may_not_name_an_archived_plan_but_a_kept_one_may(tenant, customer):
    from catalog.tests.factories import PlanFactory

    plan = PlanFactory(workspace=tenant.workspace)
    of_archived_product = PlanFactory(workspace=tenant.workspace, product__status="archived")
    line = {"name": "Pro", "amount": "1000", "plan": plan.id}
    draft = tenant.client.post("/invoices/", invoice_body(customer, lines=[line]), format="json")
    assert draft.status_code == 201, draft.json()
    tenant.client.post(f"/plans/{plan.id}/archive/")

    new = tenant.client.post("/invoices/", invoice_body(customer, lines=[line]), format="json")
    other = tenant.client.post(
        "/invoices/",
        invoice_body(customer, lines=[{**line, "plan": of_archived_product.id}]),
        format="json",
    )
    put_back = tenant.client.put(f"/invoices/{draft.json()['id']}/", draft.json(), format="json")

    assert new.status_code == 400 and "archived" in new.json()["lines"]["0"]["plan"][0]
    assert other.status_code == 400 and "archived" in other.json()["lines"]["0"]["plan"][0]
    assert put_back.status_code == 200, put_back.json()


# Lines naming a tax rule


def test_a_line_takes_the_percent_of_the_tax_rule_it_names(tenant, customer):
    from catalog.tests.factories import TaxFactory

    reduced = TaxFactory(workspace=tenant.workspace, name="Tasa reducida", percent=Decimal(10))
    exempt = TaxFactory(workspace=tenant.workspace, name="Exento", percent=0, exempt=True)
    lines = [
        {"name": "IVA", "amount": "10005"},  # the document type's 19%
        {"name": "Reducido", "amount": "10005", "tax": reduced.id},
        {"name": "Exento", "amount": "5000", "tax": exempt.id},
    ]

    created = tenant.client.post(
        "/invoices/", invoice_body(customer, lines=lines, discount="0"), format="json"
    )
    body = created.json()

    assert created.status_code == 201, body
    assert [(line["tax"], line["tax_percent"], line["exempt"]) for line in body["lines"]] == [
        (None, None, False),
        (reduced.id, D("10.0000"), False),
        (exempt.id, D("0.0000"), True),
    ]
    # Tax once per rate on its taxable net: 19% of 10005 = 1900.95 → 1901, 10% of 10005 =
    # 1000.5 → 1001; the exempt line adds to `exempt`.
    assert (body["amount"], body["exempt"], body["tax"], body["total"]) == (
        D("20010"),
        D("5000"),
        D("2902"),
        D("27912"),
    )
    # A note that annuls the invoice mirrors its lines, rules and all.
    tenant.client.post(f"/invoices/{body['id']}/finalize/")
    note = tenant.client.post(
        "/creditnotes/", {"invoice": body["id"], "reason": 1}, format="json"
    ).json()
    assert [line["tax"] for line in note["lines"]] == [None, reduced.id, exempt.id]
    assert note["total"] == D("27912")


def test_a_tax_rule_of_another_tenant_or_none_is_400_on_the_line(tenant, other_tenant, customer):
    from catalog.tests.factories import TaxFactory

    own = TaxFactory(workspace=tenant.workspace)
    foreign = TaxFactory(workspace=other_tenant.workspace)
    refused, missing, accepted = [
        tenant.client.post(
            "/invoices/",
            invoice_body(customer, lines=[{"name": "x", "amount": "1", "tax": tax_id}]),
            format="json",
        )
        for tax_id in (foreign.id, "tax_01NOTHING0000000000000000", own.id)
    ]

    assert (refused.status_code, missing.status_code) == (400, 400)
    assert "tax" in refused.json()["lines"]["0"]  # DRF keys nested errors by index
    assert "tax" in missing.json()["lines"]["0"]
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["lines"][0]["tax"] == own.id


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"tax_percent": "19"}, "lines.0.tax_percent"),  # the rule says 10
        ({"exempt": True}, "lines.0.exempt"),  # the rule is not an exemption
    ],
)
def test_a_line_that_contradicts_its_tax_rule_is_400(tenant, customer, line, field):
    from catalog.tests.factories import TaxFactory

    reduced = TaxFactory(workspace=tenant.workspace, percent=Decimal(10))
    lines = [{"name": "x", "amount": "1000", "tax": reduced.id, **line}]

    response = tenant.client.post("/invoices/", invoice_body(customer, lines=lines), format="json")

    assert response.status_code == 400, response.json()
    assert field_error(response.json(), field)


def test_a_tax_rule_named_on_a_line_cannot_be_deleted(tenant, customer):
    from catalog.tests.factories import TaxFactory

    reduced = TaxFactory(workspace=tenant.workspace, percent=Decimal(10))
    lines = [{"name": "x", "amount": "1000", "tax": reduced.id}]
    tenant.client.post("/invoices/", invoice_body(customer, lines=lines), format="json")

    response = tenant.client.delete(f"/taxes/{reduced.id}/")

    assert response.status_code == 409
    assert response.json()["code"] == "tax_in_use"


def test_the_service_refuses_a_tax_rule_of_another_tenant(tenant, other_tenant, customer):
    from billing.errors import InvalidInput
    from billing.models import DocumentType
    from catalog.tests.factories import TaxFactory
    from invoices.services.invoices import invoice_create

    foreign = TaxFactory(workspace=other_tenant.workspace)

    with pytest.raises(InvalidInput) as refused:
        invoice_create(
            workspace=tenant.workspace, test_mode=False, customer=customer,
            document=DocumentType.objects.get(pk=33), date=date(2026, 3, 31),
            lines=[{"name": "x", "amount": Decimal(1), "tax": foreign}],
        )  # fmt: skip

    assert list(refused.value.errors) == ["lines.0.tax"]


# -- A national document in another currency (issue 13, item 6) ------------------------


@pytest.fixture
def usd_customer(tenant):
    return CustomerFactory(
        workspace=tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )


@pytest.mark.parametrize("document", [33, 34, 39])
def test_a_national_document_in_dollars_is_refused(tenant, usd_customer, document):
    body = invoice_body(usd_customer, document=document)
    body["lines"][0]["amount"] = "100.55"

    response = tenant.client.post("/invoices/", body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "document_currency_mismatch"
    assert "110" in response.json()["detail"]
    assert not Invoice.objects.filter(customer=usd_customer).exists()


def test_a_sale_in_dollars_is_an_export(tenant, usd_customer):
    response = tenant.client.post(
        "/invoices/", invoice_body(usd_customer, document=110), format="json"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["currency"], response.json()["document"]) == ("USD", 110)


def test_a_national_draft_in_dollars_saved_before_the_check_is_not_finalized(tenant, usd_customer):
    export = tenant.client.post(
        "/invoices/", invoice_body(usd_customer, document=110), format="json"
    ).json()
    # A draft written before the currency check existed: a 33 in dollars.
    Invoice.objects.filter(pk=export["id"]).update(document_id=33)

    response = tenant.client.post(f"/invoices/{export['id']}/finalize/")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "document_currency_mismatch"
    draft = Invoice.objects.get(pk=export["id"])
    assert (draft.status, draft.number) == ("draft", None)


def test_an_update_cannot_make_a_national_document_foreign(tenant, customer, usd_customer):
    factura = tenant.client.post("/invoices/", invoice_body(customer), format="json").json()
    export = tenant.client.post(
        "/invoices/", invoice_body(usd_customer, document=110), format="json"
    ).json()

    to_dollars = tenant.client.patch(
        f"/invoices/{factura['id']}/", {"customer": usd_customer.id}, format="json"
    )
    to_factura = tenant.client.patch(f"/invoices/{export['id']}/", {"document": 33}, format="json")

    for response in (to_dollars, to_factura):
        assert response.status_code == 400, response.json()
        assert response.json()["code"] == "document_currency_mismatch"
    assert Invoice.objects.get(pk=factura["id"]).currency_id == "CLP"
    assert Invoice.objects.get(pk=export["id"]).document_id == 110


def test_a_draft_moved_from_an_exempt_type_to_a_taxed_one_needs_its_lines_again(tenant, customer):
    # On a factura exenta every line is exempt, whatever it said; on a factura only the
    # lines that say so are. Keeping the exenta's lines would issue a factura without IVA.
    exenta = tenant.client.post(
        "/invoices/", invoice_body(customer, document=34, discount="0"), format="json"
    ).json()
    assert exenta["tax"] == 0

    kept = tenant.client.patch(f"/invoices/{exenta['id']}/", {"document": 33}, format="json")
    resent = tenant.client.patch(
        f"/invoices/{exenta['id']}/",
        {"document": 33, "lines": invoice_body(customer)["lines"]},
        format="json",
    )

    assert kept.status_code == 400, kept.json()
    assert "exempt" in kept.json()["lines"][0]
    assert resent.status_code == 200, resent.json()
    body = resent.json()
    assert [line["exempt"] for line in body["lines"]] == [False, False, True]
    # 30,000 + 4,491 taxable, 5,000 exempt: IVA 6,553.29 → 6,553.
    assert (body["amount"], body["exempt"], body["tax"]) == (D("34491"), D("5000"), D("6553"))


@pytest.mark.parametrize(
    ("line", "field"),
    [({"tax": "rule"}, "lines.0.tax"), ({"tax_percent": "8.875"}, "lines.0.tax_percent")],
)
def test_a_tax_on_a_line_of_a_type_without_taxes_is_400_not_dropped(db, line, field):
    # A country without VAT has generic types without taxes (as Chile's 34): every line
    # on them is exempt, so a sales tax named on a line would silently be charged as 0.
    from billing.models import DocumentType
    from catalog.tests.factories import TaxFactory
    from tests.conftest import make_tenant

    tenant = make_tenant(country="US")
    customer = CustomerFactory(workspace=tenant.workspace, country_id="US", currency_id="USD")
    sales_tax = TaxFactory(workspace=tenant.workspace, percent=Decimal("8.875"), country_id="US")
    if line.get("tax") == "rule":
        line = {"tax": sales_tax.id}
    body = {
        "customer": customer.id,
        "document": DocumentType.objects.get(country_id="US", code="INV").pk,
        "date": "2026-03-31",
        "lines": [{"name": "Widget", "amount": "100", **line}],
    }

    response = tenant.client.post("/invoices/", body, format="json")

    assert response.status_code == 400, response.json()
    assert "without taxes" in field_error(response.json(), field)[0]
    assert not Invoice.objects.exists()
