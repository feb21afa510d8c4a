"""Credit and debit notes: reasons, references, numbering, over-credit, amount due, G11."""

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Event
from customers.tests.factories import CustomerFactory
from invoices.choices import InvoiceStatus
from invoices.models import CreditNote, DebitNote, Invoice
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.services.notes import credit_note_create, debit_note_create, note_finalize
from tests.conftest import make_tenant
from tests.numbers import D

pytestmark = pytest.mark.django_db

NOW = timezone.now()
SANTIAGO = ZoneInfo("America/Santiago")


def finalized_invoice(tenant, *, document=33, lines=None, customer=None, **fields):
    """A finalized invoice; by default 10,000 + 2,500 exempt → 10,000 + 1,900 IVA + 2,500."""
    invoice = invoice_create(
        workspace=tenant.workspace,
        test_mode=tenant.test_mode,
        customer=customer or CustomerFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=document),
        date=date(2026, 3, 2),
        lines=lines
        or [
            {"name": "Plan Pro", "amount": Decimal(5000), "quantity": Decimal(2)},
            {"name": "Seguro", "amount": Decimal(2500), "exempt": True},
        ],
        **fields,
    )
    return invoice_finalize(invoice=invoice, now=NOW)


def partial(amount="1000", **overrides):
    return {
        "reason": 3,
        "description": "Descuento",
        "lines": [{"name": "Ajuste", "amount": amount}],
        **overrides,
    }


def post_note(tenant, invoice, resource="creditnotes", **body):
    return tenant.client.post(f"/{resource}/", {"invoice": invoice.id, **body}, format="json")


# Create


def test_a_partial_credit_note_is_a_draft_priced_in_the_invoice_terms(tenant):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, **partial("1000"))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"].startswith("cre_")
    assert (body["status"], body["number"], body["document"]) == ("draft", None, 61)
    assert (body["customer"], body["currency"]) == (invoice.customer_id, "CLP")
    assert (body["amount"], body["tax"], body["total"]) == (D("1000"), D("190"), D("1190"))
    assert body["date"] == timezone.localdate(timezone=SANTIAGO).isoformat()
    assert body["references"] == [
        {
            "document": "33",
            "serial": str(invoice.number),
            "date": "2026-03-02",
            "code": 3,
            "description": "Descuento",
        },
    ]
    assert Event.objects.filter(type="credit_note.created", object_id=body["id"]).exists()


def test_a_debit_note_is_a_56_by_default(tenant):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, "debitnotes", **partial("500"))

    assert response.status_code == 201, response.json()
    assert response.json()["id"].startswith("deb_")
    assert (response.json()["document"], response.json()["total"]) == (56, D("595"))
    assert Event.objects.filter(type="debit_note.created").count() == 1


def test_reason_1_mirrors_the_invoice_lines_and_totals(tenant):
    invoice = finalized_invoice(tenant, discount=Decimal(10))

    response = post_note(tenant, invoice, reason=1, description="Anula factura")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(line["name"], line["total"], line["exempt"]) for line in body["lines"]] == [
        ("Plan Pro", D("10000"), False),
        ("Seguro", D("2500"), True),
    ]
    for name in ("amount", "exempt", "tax", "total", "total_adjusted", "discount_amount"):
        assert Decimal(body[name]) == getattr(invoice, name), name
    assert body["references"][0]["code"] == 1


def test_reason_1_refuses_lines(tenant):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, reason=1, lines=[{"name": "x", "amount": "1"}])

    assert response.status_code == 400
    assert "lines" in response.json()


def test_reason_2_has_one_zero_line_naming_the_correction(tenant):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, reason=2, description="Giro: Desarrollo de software")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(line["name"], line["total"]) for line in body["lines"]] == [
        ("Giro: Desarrollo de software", D("0")),
    ]
    assert (body["total"], body["tax"]) == (D("0"), D("0"))


@pytest.mark.parametrize(
    ("resource", "reason"), [("creditnotes", 1), ("creditnotes", 2), ("debitnotes", 2)]
)
def test_a_note_whose_lines_are_made_for_it_is_accepted_put_back(tenant, resource, reason):
    # Arrange: lines the server made (mirrored, or the description's), as retrieved
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, resource, reason=reason, description="Corrige giro").json()
    url = f"/{resource}/{note['id']}/"

    # Act
    response = tenant.client.put(url, note, format="json")

    # Assert
    assert response.status_code == 200, response.json()
    unchanged = response.json()
    assert {**unchanged, "updated": note["updated"]} == note


def test_a_reason_2_note_sent_back_with_a_new_description_takes_it_as_its_line(tenant):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, reason=2, description="Corrige giro").json()

    response = tenant.client.put(
        f"/creditnotes/{note['id']}/", {**note, "description": "Corrige dirección"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert [line["name"] for line in response.json()["lines"]] == ["Corrige dirección"]


def test_lines_other_than_the_notes_own_are_still_refused_on_reasons_1_and_2(tenant):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, reason=1, description="Anula").json()
    changed = [{**note["lines"][0], "quantity": 1}, *note["lines"][1:]]

    response = tenant.client.put(f"/creditnotes/{note['id']}/", {"lines": changed}, format="json")

    assert response.status_code == 400
    assert "lines" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": 2}, "description"),
        ({"reason": 2, "description": "x", "lines": [{"name": "x", "amount": "0"}]}, "lines"),
        ({"reason": 3, "description": "x"}, "lines"),
        ({"reason": 3, "lines": []}, "lines"),
        ({"reason": 3, "lines": [{"name": "x", "amount": "0"}]}, "lines"),
        ({"reason": 4, "lines": [{"name": "x", "amount": "1"}]}, "reason"),
        ({**partial(), "description": "x" * 91}, "description"),
        ({**partial(), "document": 33}, "document"),  # an invoice type
        ({**partial(), "document": 56}, "document"),  # a debit note type
        ({**partial(), "document": 112}, "document"),  # export, for a domestic invoice
        ({**partial(), "document": 60}, "document"),  # paper
        ({**partial(), "document": 1001}, "document"),  # another country's CN
        ({**partial(), "date": "2026-03-01"}, "date"),  # before the invoice
    ],
)
def test_bad_credit_notes_are_400_on_the_field(tenant, body, field):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, **body)

    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize(
    ("resource", "lines", "reason"),
    [
        ("creditnotes", [{"name": "Ajuste", "amount": 1000}], 3),  # lines correct amounts
        ("creditnotes", None, 1),  # none: the whole invoice is credited, its lines mirrored
        ("debitnotes", [{"name": "Ajuste", "amount": 1000}], 3),
    ],
)
def test_a_note_in_piriods_shape_has_no_reason_and_takes_the_purchases_default(
    tenant, resource, lines, reason
):
    invoice = finalized_invoice(tenant)
    body = {"note": "Devolución parcial", **({"lines": lines} if lines else {})}

    response = post_note(tenant, invoice, resource, **body)

    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["reason"], created["note"]) == (reason, "Devolución parcial")
    assert created["references"][0]["code"] == reason
    assert created["total"] == (D("1190") if lines else invoice.total)


def test_a_debit_note_without_reason_or_lines_is_a_400_on_its_lines(tenant):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, "debitnotes", note="Sin líneas")

    assert response.status_code == 400, response.json()
    assert "lines" in response.json()


def test_a_debit_note_cannot_annul(tenant):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, "debitnotes", reason=1)

    assert response.status_code == 400
    assert "reason" in response.json()


@pytest.mark.parametrize(
    "status", [InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED, InvoiceStatus.PENDING]
)
def test_only_issued_invoices_take_notes(tenant, status):
    invoice = finalized_invoice(tenant)
    Invoice.objects.filter(pk=invoice.pk).update(status=status)

    response = post_note(tenant, invoice, **partial())

    assert response.status_code == 400
    assert "invoice" in response.json()


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE])
def test_paid_and_uncollectible_invoices_take_notes(tenant, status):
    invoice = finalized_invoice(tenant)
    Invoice.objects.filter(pk=invoice.pk).update(status=status)

    assert post_note(tenant, invoice, **partial()).status_code == 201


def test_an_export_invoice_is_corrected_by_export_notes(tenant):
    abroad = CustomerFactory(workspace=tenant.workspace, country_id="US", tax_id="")
    invoice = finalized_invoice(tenant, document=110, customer=abroad)

    credit = post_note(tenant, invoice, **partial("100"))
    debit = post_note(tenant, invoice, "debitnotes", **partial("100"))
    domestic = post_note(tenant, invoice, **partial("100", document=61))

    assert (credit.json()["document"], debit.json()["document"]) == (112, 111)
    assert credit.json()["tax"] == D("0")  # 110 and 112 carry no IVA
    assert domestic.status_code == 400 and "document" in domestic.json()


def test_a_note_of_an_exempt_invoice_is_exempt(tenant):
    invoice = finalized_invoice(tenant, document=34)

    body = post_note(tenant, invoice, **partial("1000")).json()

    assert (body["amount"], body["exempt"], body["tax"], body["total"]) == (
        D("0"),
        D("1000"),
        D("0"),
        D("1000"),
    )


def test_other_countries_use_their_generic_note_types():
    tenant = make_tenant(country="MX")
    customer = CustomerFactory(
        workspace=tenant.workspace, country_id="MX", currency_id="MXN", tax_id=""
    )
    inv_type = DocumentType.objects.get(country="MX", code="INV")
    invoice = finalized_invoice(tenant, document=inv_type.pk, customer=customer)

    credit = post_note(tenant, invoice, **partial("100"))
    debit = post_note(tenant, invoice, "debitnotes", **partial("100"))

    assert credit.status_code == 201, credit.json()
    assert credit.json()["document"] == DocumentType.objects.get(country="MX", code="CN").pk
    assert debit.json()["document"] == DocumentType.objects.get(country="MX", code="DN").pk
    assert credit.json()["tax"] == D("16")


# Over-credit


def test_a_credit_note_cannot_exceed_the_invoice(tenant):
    invoice = finalized_invoice(tenant)  # 14,400

    response = post_note(tenant, invoice, **partial("12102"))  # + 2,299 IVA = 14,401

    assert response.status_code == 400
    assert "lines" in response.json()
    assert "14400" in response.json()["lines"][0]


def test_finalized_credits_lower_and_debits_raise_what_can_be_credited(tenant):
    invoice = finalized_invoice(tenant)  # 14,400
    first = credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        reason=3,
        now=NOW,
        lines=[{"name": "a", "amount": Decimal(10000)}],
    )
    note_finalize(note=first, now=NOW)  # 11,900 credited; 2,500 left

    too_much = post_note(tenant, invoice, **partial("2102"))  # + 399 IVA = 2,501
    debit = post_note(tenant, invoice, "debitnotes", **partial("1000")).json()
    tenant.client.post(f"/debitnotes/{debit['id']}/finalize/")  # +1,190 → 3,690
    now_fits = post_note(tenant, invoice, **partial("3100"))  # + 589 IVA = 3,689

    assert too_much.status_code == 400
    assert now_fits.status_code == 201, now_fits.json()


def test_drafts_that_fit_alone_cannot_both_finalize(tenant):
    invoice = finalized_invoice(tenant)  # 14,400
    first = post_note(tenant, invoice, **partial("10000")).json()  # 11,900
    second = post_note(tenant, invoice, **partial("10000")).json()

    ok = tenant.client.post(f"/creditnotes/{first['id']}/finalize/")
    refused = tenant.client.post(f"/creditnotes/{second['id']}/finalize/")

    assert ok.status_code == 200
    assert refused.status_code == 409
    assert refused.json()["code"] == "credit_note_exceeds_invoice"
    assert CreditNote.objects.get(pk=second["id"]).number is None


# Finalize and numbering


def test_finalize_numbers_each_note_type_on_its_own_sequence(tenant):
    invoice = finalized_invoice(tenant)
    credits = [post_note(tenant, invoice, **partial("100")).json() for _ in range(2)]
    debit = post_note(tenant, invoice, "debitnotes", **partial("100")).json()

    numbers = [
        tenant.client.post(f"/creditnotes/{credits[1]['id']}/finalize/").json()["number"],
        tenant.client.post(f"/creditnotes/{credits[0]['id']}/finalize/").json()["number"],
        tenant.client.post(f"/debitnotes/{debit['id']}/finalize/").json()["number"],
    ]

    assert numbers == [1, 2, 1]
    assert invoice.number == 1  # the invoice's own 33 sequence is apart
    finalized = CreditNote.objects.get(pk=credits[1]["id"])
    assert (finalized.status, finalized.biller_status) == ("finalized", "pending")
    assert finalized.finalized_at is not None
    assert Event.objects.filter(type="credit_note.finalized").count() == 2
    assert Event.objects.filter(type="debit_note.finalized").count() == 1


@pytest.mark.parametrize("resource", ["creditnotes", "debitnotes"])
def test_a_finalized_note_is_served_as_a_pdf(tenant, resource):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, resource, **partial("100")).json()
    assert tenant.client.post(f"/{resource}/{note['id']}/finalize/").status_code == 200

    response = tenant.client.get(f"/{resource}/{note['id']}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("resource", ["creditnotes", "debitnotes"])
def test_finalize_is_accepted_as_get(tenant, resource):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, resource, **partial("100")).json()

    response = tenant.client.get(f"/{resource}/{note['id']}/finalize/")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["number"]) == ("finalized", 1)


@pytest.mark.parametrize("resource", ["creditnotes", "debitnotes"])
def test_a_retried_finalize_by_get_answers_the_finalized_note(tenant, resource):
    """A GET may be retried by any client or proxy, as a POST is retried under its
    Idempotency-Key: both retries answer the note the first call finalized."""
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, resource, **partial("100")).json()
    url = f"/{resource}/{note['id']}/finalize/"
    first = tenant.client.get(url)

    retried = tenant.client.get(url)
    posted = tenant.client.post(url, headers={"Idempotency-Key": "k"})
    replayed = tenant.client.post(url, headers={"Idempotency-Key": "k"})

    assert (first.status_code, retried.status_code) == (200, 200), retried.json()
    assert retried.json() == first.json()
    assert (retried.json()["status"], retried.json()["number"]) == ("finalized", 1)
    # A POST is a new request to finalize, unless its key replays one: a conflict.
    assert (posted.status_code, replayed.status_code) == (409, 409)
    assert replayed.content == posted.content
    assert Event.objects.filter(type__endswith="_note.finalized").count() == 1


@pytest.mark.parametrize("resource", ["creditnotes", "debitnotes"])
def test_finalized_notes_are_immutable(tenant, resource):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, resource, **partial("100")).json()
    tenant.client.post(f"/{resource}/{note['id']}/finalize/")
    prefix = "credit_note" if resource == "creditnotes" else "debit_note"
    url = f"/{resource}/{note['id']}/"

    patch = tenant.client.patch(url, {"description": "x"}, format="json")
    put = tenant.client.put(url, {"invoice": invoice.id, **partial("5")}, format="json")
    delete = tenant.client.delete(url)
    again = tenant.client.post(f"{url}finalize/")

    assert [r.status_code for r in (patch, put, delete, again)] == [409, 409, 409, 409]
    assert {patch.json()["code"], put.json()["code"], delete.json()["code"]} == {
        f"{prefix}_not_draft"
    }
    assert again.json()["code"] == f"{prefix}_invalid_transition"
    assert tenant.client.get(url).json()["total"] == D("119")


def test_drafts_can_be_edited_and_deleted(tenant):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, **partial("100")).json()

    edited = tenant.client.patch(
        f"/creditnotes/{note['id']}/", {"lines": [{"name": "b", "amount": "200"}]}, format="json"
    )
    text = tenant.client.patch(
        f"/creditnotes/{note['id']}/", {"reason": 2, "description": "Dirección"}, format="json"
    )
    annul = tenant.client.patch(f"/creditnotes/{note['id']}/", {"reason": 1}, format="json")
    memo = tenant.client.patch(f"/creditnotes/{note['id']}/", {"note": "Gracias"}, format="json")
    deleted = tenant.client.delete(f"/creditnotes/{note['id']}/")

    assert edited.json()["total"] == D("238")
    assert (text.json()["total"], text.json()["lines"][0]["name"]) == (D("0"), "Dirección")
    assert text.json()["references"][0]["code"] == 2
    assert annul.json()["total"] == D("14400")
    assert (memo.json()["note"], memo.json()["total"]) == ("Gracias", D("14400"))
    assert deleted.status_code == 204
    assert not CreditNote.objects.exists()


# Amount due and cancellation by a reason-1 note


def test_amount_due_follows_finalized_notes_only(tenant):
    invoice = finalized_invoice(tenant)  # 14,400
    credit = post_note(tenant, invoice, **partial("1000")).json()  # 1,190
    debit = post_note(tenant, invoice, "debitnotes", **partial("500")).json()  # 595

    draft_due = tenant.client.get(f"/invoices/{invoice.id}/").json()["amount_due"]
    tenant.client.post(f"/creditnotes/{credit['id']}/finalize/")
    credited_due = tenant.client.get(f"/invoices/{invoice.id}/").json()["amount_due"]
    tenant.client.get(f"/debitnotes/{debit['id']}/finalize/")
    listed = tenant.client.get("/invoices/").json()["results"][0]

    assert (draft_due, credited_due, listed["amount_due"]) == (D("14400"), D("13210"), D("13805"))
    assert listed["status"] == "finalized"


def test_the_invoice_list_reads_amount_due_without_a_query_per_invoice(
    tenant, django_assert_max_num_queries
):
    for _ in range(6):
        invoice = finalized_invoice(tenant)
        note = credit_note_create(
            workspace=tenant.workspace,
            test_mode=False,
            invoice=invoice,
            reason=3,
            now=NOW,
            lines=[{"name": "a", "amount": Decimal(100)}],
        )
        note_finalize(note=note, now=NOW)

    # token, workspace, count, page (amount due as subqueries), lines.
    with django_assert_max_num_queries(5):
        response = tenant.client.get("/invoices/")

    assert [item["amount_due"] for item in response.json()["results"]] == [D("14281")] * 6


def test_a_reason_1_credit_note_cancels_the_invoice(tenant):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, reason=1).json()

    tenant.client.post(f"/creditnotes/{note['id']}/finalize/")

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CANCELLED
    assert invoice.cancelled_at is not None
    assert tenant.client.get(f"/invoices/{invoice.id}/").json()["amount_due"] == D("0")
    assert Event.objects.filter(type="invoice.cancelled", object_id=invoice.id).count() == 1


def test_a_reason_1_credit_note_cancels_an_uncollectible_invoice_rather_than_pay_it(tenant):
    invoice = finalized_invoice(tenant)
    tenant.client.post(f"/invoices/{invoice.id}/uncollectible/")
    note = post_note(tenant, invoice, reason=1).json()

    finalized = tenant.client.post(f"/creditnotes/{note['id']}/finalize/")

    assert finalized.status_code == 200, finalized.json()
    body = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert (body["status"], body["amount_due"]) == ("cancelled", D("0"))
    assert Event.objects.filter(type="invoice.cancelled", object_id=invoice.id).count() == 1
    assert not Event.objects.filter(type="invoice.paid", object_id=invoice.id).exists()


def test_partial_credits_down_to_zero_pay_the_invoice_without_cancelling_it(tenant):
    invoice = finalized_invoice(tenant, lines=[{"name": "a", "amount": Decimal(1000)}])  # 1,190
    note = post_note(tenant, invoice, **partial("1000")).json()

    tenant.client.post(f"/creditnotes/{note['id']}/finalize/")

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.paid_at is not None
    assert tenant.client.get(f"/invoices/{invoice.id}/").json()["amount_due"] == D("0")
    assert Event.objects.filter(type="invoice.paid", object_id=invoice.id).count() == 1
    assert not Event.objects.filter(type="invoice.cancelled").exists()


def test_a_debit_note_on_a_paid_invoice_puts_it_back_to_finalized(tenant):
    invoice = finalized_invoice(tenant)
    tenant.client.post("/payments/", {"invoice": invoice.id})
    debit = post_note(tenant, invoice, "debitnotes", **partial("500")).json()  # 595

    tenant.client.post(f"/debitnotes/{debit['id']}/finalize/")

    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert (shown["status"], shown["amount_due"]) == ("finalized", D("595"))


# Credit beyond the amount due: the customer's balance


def _pay(tenant, invoice, amount=None):
    body = {"invoice": invoice.id} if amount is None else {"invoice": invoice.id, "amount": amount}
    response = tenant.client.post("/payments/", body)
    assert response.status_code == 201, response.content
    return response.json()


def _customer(tenant, invoice):
    return tenant.client.get(f"/customers/{invoice.customer_id}/").json()


def test_annulling_a_partly_paid_invoice_credits_the_customer_what_was_paid(tenant):
    invoice = finalized_invoice(tenant)  # 14,400
    _pay(tenant, invoice, "1000")
    note = post_note(tenant, invoice, reason=1).json()

    finalized = tenant.client.post(f"/creditnotes/{note['id']}/finalize/")

    assert finalized.status_code == 200, finalized.content
    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    # It held a payment, so it is settled (paid), not cancelled, and owes exactly 0.
    assert (shown["status"], shown["amount_due"]) == ("paid", D("0"))
    customer = _customer(tenant, invoice)
    assert customer["aggregations"]["credit_balance"] == D("1000")
    assert customer["aggregations"]["balance"] == D("-1000")
    entries = tenant.client.get(f"/customers/{invoice.customer_id}/balance_transactions/")
    assert entries.status_code == 200
    body = entries.json()
    assert body["count"] == 1
    entry = body["results"][0]
    assert entry["id"].startswith("cbt_")
    assert (entry["amount"], entry["currency"], entry["kind"]) == (D("1000"), "CLP", "credit_note")
    assert (entry["invoice"], entry["source"]) == (invoice.id, note["id"])


def test_a_credit_note_on_a_paid_invoice_leaves_amount_due_at_zero_with_a_record(tenant):
    invoice = finalized_invoice(tenant)  # 14,400
    _pay(tenant, invoice)
    note = post_note(tenant, invoice, **partial("1000")).json()  # 1,190

    tenant.client.post(f"/creditnotes/{note['id']}/finalize/")

    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert (shown["status"], shown["amount_due"]) == ("paid", D("0"))
    assert _customer(tenant, invoice)["aggregations"]["credit_balance"] == D("1190")
    listed = tenant.client.get("/invoices/", {"status": "paid"}).json()["results"]
    assert [item["amount_due"] for item in listed] == [D("0")]


def test_a_credit_note_within_the_amount_due_records_no_balance(tenant):
    invoice = finalized_invoice(tenant)  # 14,400
    _pay(tenant, invoice, "10000")
    note = post_note(tenant, invoice, **partial("1000")).json()  # 1,190 of the 4,400 due

    tenant.client.post(f"/creditnotes/{note['id']}/finalize/")

    shown = tenant.client.get(f"/invoices/{invoice.id}/").json()
    assert (shown["status"], shown["amount_due"]) == ("finalized", D("3210"))
    assert _customer(tenant, invoice)["aggregations"]["credit_balance"] == D("0")
    body = tenant.client.get(f"/customers/{invoice.customer_id}/balance_transactions/").json()
    assert body["count"] == 0


def test_notes_of_a_cancelled_invoice_no_longer_finalize(tenant):
    invoice = finalized_invoice(tenant)
    pending = post_note(tenant, invoice, "debitnotes", **partial("100")).json()
    annul = post_note(tenant, invoice, reason=1).json()
    tenant.client.post(f"/creditnotes/{annul['id']}/finalize/")

    response = tenant.client.post(f"/debitnotes/{pending['id']}/finalize/")

    assert response.status_code == 409
    assert response.json()["code"] == "invoice_not_noteable"
    assert DebitNote.objects.get(pk=pending["id"]).status == "draft"


def test_the_note_list_filters_by_invoice_and_reason(tenant):
    first, second = finalized_invoice(tenant), finalized_invoice(tenant)
    mine = post_note(tenant, first, **partial("100")).json()
    post_note(tenant, second, **partial("100"))
    post_note(tenant, first, reason=2, description="x")

    by_invoice = tenant.client.get("/creditnotes/", {"invoice": first.id, "reason": 3}).json()

    assert [item["id"] for item in by_invoice["results"]] == [mine["id"]]


@pytest.mark.parametrize("resource", ["creditnotes", "debitnotes"])
def test_a_reason_that_is_no_codref_is_a_400_on_the_filter(tenant, resource):
    post_note(tenant, finalized_invoice(tenant), resource, **partial("100"))

    response = tenant.client.get(f"/{resource}/", {"reason": 9})

    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["reason"]


@pytest.mark.parametrize("resource", ["creditnotes", "debitnotes"])
def test_the_note_lists_filter_by_currency_as_the_invoice_list_does(tenant, resource):
    abroad = CustomerFactory(
        workspace=tenant.workspace, country_id="US", currency_id="USD", tax_id=""
    )
    in_pesos = post_note(tenant, finalized_invoice(tenant), resource, **partial("100")).json()
    export = finalized_invoice(tenant, document=110, customer=abroad)
    in_dollars = post_note(tenant, export, resource, **partial("10")).json()

    listed = {
        currency: tenant.client.get(f"/{resource}/", {"currency": currency})
        for currency in ("CLP", "USD")
    }

    assert listed["CLP"].status_code == 200, listed["CLP"].json()
    assert [item["id"] for item in listed["CLP"].json()["results"]] == [in_pesos["id"]]
    assert [item["id"] for item in listed["USD"].json()["results"]] == [in_dollars["id"]]


def test_services_check_the_tenant_of_the_invoice(tenant, other_tenant):
    invoice = finalized_invoice(other_tenant)

    with pytest.raises(InvalidInput) as error:
        debit_note_create(
            workspace=tenant.workspace,
            test_mode=False,
            invoice=invoice,
            reason=3,
            now=NOW,
            lines=[{"name": "a", "amount": Decimal(1)}],
        )

    assert "invoice" in error.value.errors


def test_finalizing_a_finalized_note_in_a_service_is_refused(tenant):
    invoice = finalized_invoice(tenant)
    note = credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        invoice=invoice,
        reason=3,
        now=NOW,
        lines=[{"name": "a", "amount": Decimal(1)}],
    )
    note_finalize(note=note, now=NOW)

    with pytest.raises(DomainError) as error:
        note_finalize(note=note, now=NOW)

    assert error.value.code == "credit_note_invalid_transition"


def test_amounts_too_large_to_store_are_400_not_500(tenant):
    invoice = finalized_invoice(tenant)

    response = post_note(tenant, invoice, "debitnotes", **partial("999999999999999999"))

    assert response.status_code == 400
    assert "lines" in response.json()


def test_a_draft_is_replaced_by_put(tenant):
    invoice = finalized_invoice(tenant)
    note = post_note(tenant, invoice, "debitnotes", **partial("100")).json()

    response = tenant.client.put(
        f"/debitnotes/{note['id']}/",
        {"invoice": invoice.id, "note": "OC 7", **partial("300", description="Flete")},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["note"], body["description"], body["total"]) == ("OC 7", "Flete", D("357"))
    assert body["references"][0]["description"] == "Flete"


def test_a_note_moved_from_an_exempt_invoice_to_a_taxed_one_needs_its_lines_again(tenant):
    exenta = finalized_invoice(tenant, document=34)
    factura = finalized_invoice(tenant)
    note = post_note(tenant, exenta, **partial("1000")).json()

    kept = tenant.client.patch(
        f"/creditnotes/{note['id']}/", {"invoice": factura.id}, format="json"
    )
    resent = tenant.client.patch(
        f"/creditnotes/{note['id']}/",
        {"invoice": factura.id, "lines": [{"name": "Ajuste", "amount": "1000"}]},
        format="json",
    )

    assert kept.status_code == 400, kept.json()
    assert "exempt" in kept.json()["lines"][0]
    assert resent.status_code == 200, resent.json()
    assert (resent.json()["amount"], resent.json()["tax"]) == (D("1000"), D("190"))


@pytest.mark.parametrize(
    ("resource", "amount_due"), [("creditnotes", 13210), ("debitnotes", 15590)]
)
def test_a_note_that_leaves_the_invoice_open_announces_its_new_amount_due(
    tenant, resource, amount_due
):
    invoice = finalized_invoice(tenant)  # 14,400 due
    note = post_note(tenant, invoice, resource, **partial()).json()  # 1,000 + 190 IVA

    finalized = tenant.client.post(f"/{resource}/{note['id']}/finalize/")

    assert finalized.status_code == 200, finalized.json()
    log = tenant.client.get("/events/log/", {"type": "invoice.updated"}).json()["results"]
    assert [(e["object_id"], e["data"]["status"], e["data"]["amount_due"]) for e in log] == [
        (invoice.id, "finalized", D(amount_due))
    ]
