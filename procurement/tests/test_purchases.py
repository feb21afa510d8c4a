"""Purchases: supplier folios or our own numbers, totals by the invoices' own code,
immutability once finalized, imported purchases, credit notes; suppliers' RUTs."""

import dataclasses
import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

import billing.documents
from billing.choices import BillerStatus
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Event, SandboxSubmission
from customers.tests.factories import CustomerFactory
from invoices.services.invoices import invoice_create
from procurement.models import Purchase, PurchaseCreditNote, Supplier
from procurement.services.credit_notes import (
    purchase_credit_note_create,
    purchase_credit_note_finalize,
)
from procurement.services.purchases import (
    purchase_create,
    purchase_delete,
    purchase_finalize,
    purchase_update,
)
from procurement.tests.factories import FinalizedPurchaseFactory, PurchaseFactory, SupplierFactory
from tests.conftest import make_tenant
from tests.numbers import D

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
LINES = [
    {"name": "Papel", "amount": Decimal(1000), "quantity": Decimal(3)},
    {"name": "Tinta", "amount": Decimal(333)},
]


def purchase(tenant, document_id=33, supplier=None, **fields):
    return purchase_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier or SupplierFactory(workspace=tenant.workspace),
        document=DocumentType.objects.get(pk=document_id),
        date=datetime.date(2026, 2, 10),
        lines=fields.pop("lines", LINES),
        **fields,
    )


def test_totals_are_computed_as_for_invoices(tenant):
    received = purchase(tenant, number=4521)

    # 3,000 + 333 = 3,333 net; IVA once on the net: 633.27 → 633.
    assert (received.amount, received.tax, received.total) == (3333, 633, 3966)
    assert [line.total for line in received.lines.all()] == [3000, 333]


def test_purchases_and_invoices_share_one_totals_function(tenant, monkeypatch):
    """A change in the shared code shows up in both documents."""
    real = billing.documents.document_totals
    calls = []

    def one_more_peso_of_tax(**kwargs):
        calls.append(kwargs["currency"])
        totals = real(**kwargs)
        return dataclasses.replace(totals, tax=totals.tax + 1, total=totals.total + 1)

    monkeypatch.setattr(billing.documents, "document_totals", one_more_peso_of_tax)
    customer = CustomerFactory(workspace=tenant.workspace)

    invoice = invoice_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=customer,
        document=DocumentType.objects.get(pk=33),
        date=datetime.date(2026, 2, 10),
        lines=LINES,
    )
    received = purchase(tenant, number=1)

    assert invoice.tax == received.tax == 634
    assert invoice.total == received.total == 3967
    assert len(calls) == 2


def test_received_purchases_need_the_suppliers_folio(tenant):
    with pytest.raises(InvalidInput) as error:
        purchase(tenant)
    assert "number" in error.value.errors
    with pytest.raises(InvalidInput):
        purchase(tenant, number=0)


def test_self_issued_purchases_take_our_next_number_at_finalize(tenant):
    first = purchase(tenant, document_id=46)
    second = purchase(tenant, document_id=46, number=0)
    assert first.number is None and first.self_issued

    second = purchase_finalize(purchase=second, now=NOW)
    first = purchase_finalize(purchase=first, now=NOW)

    assert (second.number, first.number) == (1, 2)
    with pytest.raises(InvalidInput) as error:
        purchase(tenant, document_id=46, number=7)
    assert "number" in error.value.errors


def test_sale_only_and_retention_types_are_not_purchase_types(tenant):
    for document_id in (39, 61, 900, 801):
        with pytest.raises(InvalidInput) as error:
            purchase(tenant, document_id=document_id, number=1)
        assert "document" in error.value.errors


def test_a_suppliers_folio_is_unique_per_type_by_a_database_constraint(tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)
    PurchaseFactory(workspace=tenant.workspace, supplier=supplier, number=900)
    # Another type, or another supplier, may use the same folio.
    PurchaseFactory(workspace=tenant.workspace, supplier=supplier, number=900, document_id=34)
    PurchaseFactory(workspace=tenant.workspace, number=900)

    with pytest.raises(IntegrityError), transaction.atomic():
        Purchase.objects.create(
            workspace=tenant.workspace,
            test_mode=False,
            supplier=supplier,
            document_id=33,
            currency_id="CLP",
            date=datetime.date(2026, 1, 1),
            number=900,
        )
    with pytest.raises(InvalidInput) as error:
        purchase(tenant, supplier=supplier, number=900)
    assert "already recorded" in error.value.errors["number"][0]


def test_finalize_freezes_and_reports_through_the_loop(tenant):
    received = purchase(tenant, number=12)

    received = purchase_finalize(purchase=received, now=NOW)

    assert received.status == "finalized"
    assert received.biller_status == BillerStatus.PENDING
    assert Event.objects.filter(object_id=received.pk, type="purchase.finalized").count() == 1
    with pytest.raises(DomainError) as error:
        purchase_update(purchase=received, note="late edit")
    assert error.value.code == "purchase_not_draft"
    with pytest.raises(DomainError) as error:
        purchase_finalize(purchase=received, now=NOW)
    assert error.value.code == "purchase_invalid_transition"


def test_imported_purchases_are_recorded_as_already_reported(tenant):
    imported = purchase(tenant, document_id=46, number=88, imported=True)

    imported = purchase_finalize(purchase=imported, now=NOW)

    assert imported.number == 88
    assert imported.biller_status == BillerStatus.SUCCEEDED
    assert imported.tax_agency["status"] == "imported"
    assert imported.biller_next_attempt_at is None
    assert not SandboxSubmission.objects.exists()


@pytest.mark.parametrize("finalize_first", [True, False])
def test_an_imported_46_moves_our_own_sequence_past_its_folio(tenant, finalize_first):
    imported = purchase(tenant, document_id=46, number=1, imported=True)
    if finalize_first:
        purchase_finalize(purchase=imported, now=NOW)
    later = purchase(tenant, document_id=46, number=3, imported=True)

    own = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)
    earlier = purchase(tenant, document_id=46, number=2, imported=True)

    assert own.number == 4
    assert (imported.number, later.number, earlier.number) == (1, 3, 2)
    with pytest.raises(InvalidInput) as error:
        purchase(tenant, document_id=46, number=4, imported=True)
    assert "number" in error.value.errors


def test_a_mistyped_import_withdrawn_as_a_draft_leaves_no_gap_in_our_sequence(tenant):
    # The draft moved our sequence past its folio; deleted or corrected before anything was
    # numbered after it, our next 46 follows the highest folio still recorded.
    own = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)
    deleted = purchase(tenant, document_id=46, number=50000, imported=True)
    purchase_delete(purchase=deleted)
    after_delete = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)

    corrected = purchase(tenant, document_id=46, number=90000, imported=True)
    corrected = purchase_update(purchase=corrected, number=5)
    after_correction = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)
    not_imported = purchase(tenant, document_id=46, number=70000, imported=True)
    purchase_update(purchase=not_imported, imported=False, number=0)
    last = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)

    assert (own.number, after_delete.number) == (1, 2)
    assert (corrected.number, after_correction.number) == (5, 6)
    assert last.number == 7


def test_credit_notes_reference_their_purchase_and_never_over_credit(tenant):
    received = purchase_finalize(purchase=purchase(tenant, number=5), now=NOW)
    annul = purchase_credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        purchase=received,
        reason=1,
        date=datetime.date(2026, 2, 11),
        number=31,
    )
    assert annul.total_adjusted == received.total_adjusted
    assert annul.references[0] == {
        "document": "33",
        "serial": "5",
        "date": "2026-02-10",
        "code": 1,
        "description": "",
    }
    # A draft written while the annulment was still a draft fits; once the annulment is
    # finalized, nothing is left to credit, and it cannot finalize.
    again = purchase_credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        purchase=received,
        reason=3,
        date=datetime.date(2026, 2, 12),
        number=32,
        lines=[{"name": "Ajuste", "amount": Decimal(10)}],
    )
    annul = purchase_credit_note_finalize(credit_note=annul, now=NOW)
    assert annul.status == "finalized" and annul.number == 31

    with pytest.raises(DomainError) as error:
        purchase_credit_note_finalize(credit_note=again, now=NOW)
    assert error.value.code == "purchase_over_credited"
    with pytest.raises(InvalidInput) as refused:
        purchase_credit_note_create(
            workspace=tenant.workspace,
            test_mode=False,
            purchase=received,
            reason=3,
            date=datetime.date(2026, 2, 12),
            number=33,
            lines=[{"name": "Ajuste", "amount": Decimal(10)}],
        )
    assert "lines" in refused.value.errors


@pytest.mark.parametrize(
    "terms",
    [
        {"custom_change": Decimal(38000)},
        {"discount": Decimal(10), "discount_scheme": "%"},
    ],
    ids=["custom_change", "discount"],
)
def test_a_note_that_annuls_credits_exactly_what_the_purchase_charged(tenant, terms):
    # A line in UF when the purchase has an exchange rate.
    lines = [{"name": "Asesoría", "amount": Decimal("2.5")}] if "custom_change" in terms else LINES
    received = purchase_finalize(purchase=purchase(tenant, number=5, lines=lines, **terms), now=NOW)

    annul = purchase_credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        purchase=received,
        reason=1,
        date=datetime.date(2026, 2, 11),
        number=31,
    )
    annul = purchase_credit_note_finalize(credit_note=annul, now=NOW)

    assert (annul.total_adjusted, annul.status) == (received.total_adjusted, "finalized")
    assert annul.custom_change == received.custom_change


def test_credit_notes_on_our_own_46_take_our_numbers(tenant):
    own = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)
    note = purchase_credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        purchase=own,
        reason=3,
        date=datetime.date(2026, 2, 11),
        lines=[{"name": "Ajuste", "amount": Decimal(100)}],
    )
    note = purchase_credit_note_finalize(credit_note=note, now=NOW)
    assert note.self_issued and note.number == 1


def test_a_note_annulling_a_46_withholds_its_iva_and_credits_what_the_46_owed(tenant):
    own = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)
    annul = purchase_credit_note_create(
        workspace=tenant.workspace,
        test_mode=False,
        purchase=own,
        reason=1,
        date=datetime.date(2026, 2, 11),
    )

    annul = purchase_credit_note_finalize(credit_note=annul, now=NOW)

    assert (annul.total, annul.retention, annul.total_adjusted) == (3966, 633, 3333)
    assert [line.retention for line in annul.lines.all()] == [570, 63]


def test_a_note_on_a_46_is_refused_only_beyond_what_the_46_owed(tenant):
    own = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)

    def finalized_note(amount):
        note = purchase_credit_note_create(
            workspace=tenant.workspace,
            test_mode=False,
            purchase=own,
            reason=3,
            date=datetime.date(2026, 2, 11),
            lines=[{"name": "Ajuste", "amount": amount}],
        )
        return purchase_credit_note_finalize(credit_note=note, now=NOW)

    # 3.333 net owed: 3.000 credited, then 334 is one peso too many.
    assert finalized_note(Decimal(3000)).total_adjusted == 3000
    with pytest.raises(InvalidInput):
        finalized_note(Decimal(334))
    assert finalized_note(Decimal(333)).total_adjusted == 333


# The API


def test_api_supplier_rut_is_validated_and_normalized(tenant):
    bad = tenant.client.post(
        "/suppliers/", {"name": "Imprenta", "country": "CL", "tax_id": "76086428-4"}, format="json"
    )
    assert bad.status_code == 400 and "tax_id" in bad.json()
    missing = tenant.client.post(
        "/suppliers/", {"name": "Imprenta", "country": "cl"}, format="json"
    )
    assert missing.status_code == 400 and "tax_id" in missing.json()
    foreign = tenant.client.post("/suppliers/", {"name": "AWS", "country": "US"}, format="json")
    assert foreign.status_code == 201 and foreign.json()["currency"] == "USD"

    good = tenant.client.post(
        "/suppliers/",
        {"name": "Imprenta", "country": "CL", "tax_id": "76.086.428-5"},
        format="json",
    )
    assert good.status_code == 201
    assert good.json()["tax_id"] == "76086428-5"
    for spelling in ("76086428-5", "76.086.428-5"):
        found = tenant.client.get("/suppliers/", {"tax_id": spelling, "name": "impr"})
        assert [row["id"] for row in found.json()["results"]] == [good.json()["id"]]
    assert tenant.client.get("/suppliers/", {"country": "US"}).json()["count"] == 1


def test_api_supplier_rut_is_stored_without_leading_zeros(tenant):
    response = tenant.client.post(
        "/suppliers/",
        {"name": "Imprenta", "country": "CL", "tax_id": "07.608.642-7"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["tax_id"] == "7608642-7"


def test_api_purchase_lifecycle(tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)
    created = tenant.client.post(
        "/purchases/",
        {"supplier": supplier.pk, "document": 33, "number": 1001, "date": "2026-02-10",
         "lines": LINES},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["amount"], body["tax"], body["total"], body["status"]) == (
        D("3333"), D("633"), D("3966"), "draft",
    )  # fmt: skip

    patched = tenant.client.patch(
        f"/purchases/{body['id']}/", {"lines": [{"name": "Papel", "amount": 1000}]}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["total"] == D("1190")

    finalized = tenant.client.post(f"/purchases/{body['id']}/finalize/")
    assert finalized.status_code == 200
    assert finalized.json()["biller_status"] == "pending"
    again = tenant.client.patch(f"/purchases/{body['id']}/", {"note": "x"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "purchase_not_draft"
    assert tenant.client.delete(f"/purchases/{body['id']}/").status_code == 409

    note = tenant.client.post(
        "/purchases/credit-notes/",
        {
            "purchase": body["id"],
            "reason": 3,
            "number": 77,
            "lines": [{"name": "x", "amount": 100}],
        },
        format="json",
    )
    assert note.status_code == 201, note.json()
    assert note.json()["supplier"] == supplier.pk
    assert (
        tenant.client.get(f"/purchases/credit-notes/{note.json()['id']}/finalize/").json()["status"]
        == "finalized"
    )
    listed = tenant.client.get("/purchases/", {"supplier": supplier.pk, "status": "finalized"})
    assert listed.json()["count"] == 1
    pdf = tenant.client.get(f"/purchases/{body['id']}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_api_duplicate_folio_is_a_400_on_number(tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)
    payload = {"supplier": supplier.pk, "document": 33, "number": 5, "date": "2026-02-10"}
    assert tenant.client.post("/purchases/", payload, format="json").status_code == 201
    duplicate = tenant.client.post("/purchases/", payload, format="json")
    assert duplicate.status_code == 400 and "number" in duplicate.json()


def test_api_a_folio_is_unique_per_issuer_rut_across_supplier_rows(tenant):
    # The same company recorded twice (two branches, or a duplicate row): its invoice is
    # still one document.
    first_row = SupplierFactory(workspace=tenant.workspace, tax_id="76086428-5")
    second_row = SupplierFactory(workspace=tenant.workspace, tax_id="76086428-5")
    payload = {"document": 33, "number": 5, "date": "2026-02-10"}
    recorded = tenant.client.post("/purchases/", {**payload, "supplier": first_row.pk})
    assert recorded.status_code == 201, recorded.json()

    duplicate = tenant.client.post("/purchases/", {**payload, "supplier": second_row.pk})
    moved = tenant.client.post("/purchases/", {**payload, "number": 6, "supplier": second_row.pk})
    onto_the_taken_folio = tenant.client.patch(
        f"/purchases/{moved.json()['id']}/", {"number": 5}, format="json"
    )

    assert duplicate.status_code == 400, duplicate.json()
    assert "already recorded" in duplicate.json()["number"][0]
    assert onto_the_taken_folio.status_code == 400, onto_the_taken_folio.json()
    assert Purchase.objects.filter(number=5).count() == 1


def test_a_credit_note_folio_is_unique_per_issuer_rut_across_supplier_rows(tenant):
    rows = [SupplierFactory(workspace=tenant.workspace, tax_id="76086428-5") for _ in range(2)]
    purchases = [
        purchase_finalize(purchase=purchase(tenant, supplier=row, number=number), now=NOW)
        for row, number in zip(rows, (5, 6), strict=True)
    ]
    note = {"workspace": tenant.workspace, "test_mode": False, "reason": 1, "number": 31}
    purchase_credit_note_create(purchase=purchases[0], date=datetime.date(2026, 2, 11), **note)

    with pytest.raises(InvalidInput) as error:
        purchase_credit_note_create(purchase=purchases[1], date=datetime.date(2026, 2, 11), **note)

    assert "already recorded" in error.value.errors["number"][0]


def test_api_an_empty_purchase_cannot_finalize(tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)
    created = tenant.client.post(
        "/purchases/",
        {"supplier": supplier.pk, "document": 46, "date": "2026-02-10"},
        format="json",
    )
    finalized = tenant.client.post(f"/purchases/{created.json()['id']}/finalize/")
    assert finalized.status_code == 409
    assert finalized.json()["code"] == "purchase_without_lines"
    assert Decimal(created.json()["total"]) == 0


def test_a_test_mode_credit_note_without_a_date_is_dated_on_the_test_clock(db):
    """The API's default date is today in the workspace's world: the test clock's day."""
    tenant = make_tenant(test_mode=True)
    tenant.workspace.test_clock_at = datetime.datetime(2031, 7, 1, 15, tzinfo=datetime.UTC)
    tenant.workspace.save(update_fields=["test_clock_at"])
    received = FinalizedPurchaseFactory(workspace=tenant.workspace, test_mode=True)

    response = tenant.client.post(
        "/purchases/credit-notes/",
        {"purchase": received.id, "reason": 1, "number": 7},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["date"] == "2031-07-01"


def test_a_factura_de_compra_withholds_its_whole_iva(tenant):
    # LINES: 3.000 + 333 = 3.333 net; IVA 19% = 633,27 → 633, withheld in full (code 15).
    own = purchase_finalize(purchase=purchase(tenant, document_id=46), now=NOW)

    assert (own.amount, own.tax, own.total) == (3333, 633, 3966)
    assert own.retention == own.tax
    assert own.total_adjusted == 3333


def test_a_received_factura_withholds_nothing(tenant):
    received = purchase(tenant, document_id=33, number=5)

    assert (received.tax, received.retention, received.total_adjusted) == (633, 0, 3966)


@pytest.mark.parametrize(
    ("lines", "reason", "total"),
    [
        ([{"name": "Ajuste", "amount": 100}], 3, D("119")),  # lines correct amounts
        (None, 1, None),  # none: the whole purchase is credited, its lines mirrored
    ],
)
def test_a_credit_note_in_piriods_shape_has_a_note_and_no_reason(tenant, lines, reason, total):
    received = FinalizedPurchaseFactory(workspace=tenant.workspace)
    body = {"purchase": received.id, "number": 8, "note": "Devolución parcial"}

    response = tenant.client.post(
        "/purchases/credit-notes/", {**body, **({"lines": lines} if lines else {})}, format="json"
    )

    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["reason"], created["note"]) == (reason, "Devolución parcial")
    assert created["references"][0]["code"] == reason
    assert created["total"] == (total if total is not None else received.total)


@pytest.mark.parametrize("document", [33, 34, 46])
def test_api_a_peso_type_from_a_supplier_in_another_currency_is_a_400(tenant, document):
    abroad = SupplierFactory(workspace=tenant.workspace, currency_id="USD")
    draft = PurchaseFactory(workspace=tenant.workspace)

    created = tenant.client.post(
        "/purchases/",
        {"supplier": abroad.pk, "document": document, "number": 7, "date": "2026-02-10",
         "lines": LINES},
        format="json",
    )  # fmt: skip
    moved = tenant.client.patch(f"/purchases/{draft.pk}/", {"supplier": abroad.pk}, format="json")

    assert created.status_code == 400, created.json()
    assert created.json()["code"] == "document_currency_mismatch"
    assert moved.json()["code"] == "document_currency_mismatch"
    assert not Purchase.objects.filter(currency_id="USD").exists()


def test_api_a_text_correcting_credit_note_put_back_unchanged_is_accepted(tenant):
    # Piriod's SDK updates with PUT, often the object it retrieved: the one line the note
    # was given for its description comes back with it.
    received = FinalizedPurchaseFactory(workspace=tenant.workspace)
    created = tenant.client.post(
        "/purchases/credit-notes/",
        {"purchase": received.id, "number": 8, "reason": 2, "description": "Corrige giro"},
        format="json",
    )
    retrieved = tenant.client.get(f"/purchases/credit-notes/{created.json()['id']}/").json()

    put_back = tenant.client.put(
        f"/purchases/credit-notes/{retrieved['id']}/", {**retrieved, "note": "Giro"}, format="json"
    )
    with_other_lines = tenant.client.put(
        f"/purchases/credit-notes/{retrieved['id']}/",
        {**retrieved, "lines": [{"name": "Ajuste", "amount": 100}]},
        format="json",
    )

    assert put_back.status_code == 200, put_back.json()
    assert put_back.json()["note"] == "Giro"
    assert put_back.json()["lines"] == retrieved["lines"]
    assert with_other_lines.status_code == 400
    assert "lines" in with_other_lines.json()


def test_api_an_annulling_credit_note_put_back_unchanged_keeps_crediting_the_purchase(tenant):
    # The note takes its purchase's 10% discount: sent back with its own lines it must
    # still annul the purchase, not become a note of those lines at full price.
    discounted = purchase_finalize(
        purchase=purchase(tenant, number=40, discount=Decimal(10), discount_scheme="%"), now=NOW
    )
    created = tenant.client.post(
        "/purchases/credit-notes/",
        {"purchase": discounted.id, "number": 9, "reason": 1},
        format="json",
    )
    retrieved = tenant.client.get(f"/purchases/credit-notes/{created.json()['id']}/").json()

    put_back = tenant.client.put(
        f"/purchases/credit-notes/{retrieved['id']}/", retrieved, format="json"
    )

    assert put_back.status_code == 200, put_back.json()
    assert put_back.json()["total"] == retrieved["total"] == discounted.total
    assert put_back.json()["discount"] == D("10")


def test_api_a_credit_note_exceeding_its_purchase_is_a_400_as_a_draft(tenant):
    # As a sales credit note: the draft is refused where it is written, not only later at
    # finalize. 1,000 + IVA = 1,190 can be credited; 1,000 + IVA on top of 100 cannot.
    received = purchase_finalize(
        purchase=purchase(tenant, number=5, lines=[{"name": "Papel", "amount": Decimal(1000)}]),
        now=NOW,
    )
    partial = tenant.client.post(
        "/purchases/credit-notes/",
        {"purchase": received.pk, "number": 40, "lines": [{"name": "x", "amount": 100}]},
        format="json",
    )
    tenant.client.post(f"/purchases/credit-notes/{partial.json()['id']}/finalize/")

    too_much = tenant.client.post(
        "/purchases/credit-notes/",
        {"purchase": received.pk, "number": 41, "lines": [{"name": "x", "amount": 1000}]},
        format="json",
    )
    assert too_much.status_code == 400, too_much.json()
    assert "1071" in too_much.json()["lines"][0]

    fits = tenant.client.post(
        "/purchases/credit-notes/",
        {"purchase": received.pk, "number": 41, "lines": [{"name": "x", "amount": 900}]},
        format="json",
    )
    assert fits.status_code == 201, fits.json()
    grown = tenant.client.patch(
        f"/purchases/credit-notes/{fits.json()['id']}/",
        {"lines": [{"name": "x", "amount": 901}]},
        format="json",
    )
    assert grown.status_code == 400 and "lines" in grown.json()
    assert PurchaseCreditNote.objects.get(pk=fits.json()["id"]).total_adjusted == 1071


def test_api_suppliers_filter_by_the_day_they_were_created(tenant):
    # The spec names `created` among the suppliers' filters: the day in the workspace's
    # time zone, beside the `created__gte`/`__lte` ranges every list has.
    tenant.workspace.timezone = "UTC"
    tenant.workspace.save(update_fields=["timezone"])
    older = SupplierFactory(workspace=tenant.workspace)
    Supplier.objects.filter(pk=older.pk).update(
        created_at=datetime.datetime(2026, 1, 5, 23, 59, tzinfo=datetime.UTC)
    )
    newer = SupplierFactory(workspace=tenant.workspace)
    Supplier.objects.filter(pk=newer.pk).update(
        created_at=datetime.datetime(2026, 1, 6, 0, 1, tzinfo=datetime.UTC)
    )

    on_the_day = tenant.client.get("/suppliers/", {"created": "2026-01-06"})
    assert on_the_day.status_code == 200, on_the_day.json()
    assert [row["id"] for row in on_the_day.json()["results"]] == [newer.pk]
    malformed = tenant.client.get("/suppliers/", {"created": "yesterday"})
    assert malformed.status_code == 400 and "created" in malformed.json()
    # The day is the workspace's: in Santiago (UTC-3) both were made on 5 January.
    tenant.workspace.timezone = "America/Santiago"
    tenant.workspace.save(update_fields=["timezone"])
    local = tenant.client.get("/suppliers/", {"created": "2026-01-05"})
    assert sorted(row["id"] for row in local.json()["results"]) == sorted([older.pk, newer.pk])


def test_api_a_credit_note_correcting_amounts_needs_an_amount(tenant):
    # As a sales note: reason 3 with nothing to credit is refused, not filed for 0.
    received = purchase_finalize(purchase=purchase(tenant, number=5), now=NOW)
    response = tenant.client.post(
        "/purchases/credit-notes/",
        {"purchase": received.pk, "number": 50, "reason": 3,
         "lines": [{"name": "Ajuste", "amount": 0}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "lines" in response.json(), response.json()
