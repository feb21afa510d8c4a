"""Retentions: the honorarios rate of the document's date (data, not code), the
withholding half-up in whole pesos, and the retention's lifecycle."""

import datetime
from decimal import Decimal

import pytest

from billing.choices import BillerStatus
from billing.errors import DomainError, InvalidInput
from billing.models import Event
from procurement.models import RetentionRate
from procurement.services.retentions import (
    retention_create,
    retention_finalize,
    retention_rate,
    retention_update,
)
from procurement.tests.factories import (
    FinalizedPurchaseFactory,
    PurchaseFactory,
    SupplierFactory,
)
from tests.numbers import D

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)


def make(tenant, on, gross, **kwargs):
    supplier = kwargs.pop("supplier", None) or SupplierFactory(workspace=tenant.workspace)
    return retention_create(
        workspace=tenant.workspace,
        test_mode=False,
        supplier=supplier,
        date=on,
        amount=Decimal(gross),
        **kwargs,
    )


# (date, gross, rate, retention, net), each worked out by hand:
# 1,000,000 × 13.75% = 137,500; × 14.5% = 145,000; × 15.25% = 152,500; × 16% = 160,000;
# × 17% = 170,000. 100 × 14.5% = 14.5 → 15 (half-up; half-even would give 14).
# 1,234,567 × 15.25% = 188,271.4675 → 188,271. 200 × 13.75% = 27.5 → 28. 333 × 17% = 56.61 → 57.
CASES = [
    (datetime.date(2020, 6, 30), 1_000_000, "10.75", 107_500, 892_500),
    (datetime.date(2021, 6, 30), 1_000_000, "11.5", 115_000, 885_000),
    (datetime.date(2022, 6, 30), 1_000_000, "12.25", 122_500, 877_500),
    (datetime.date(2023, 6, 30), 1_000_000, "13", 130_000, 870_000),
    (datetime.date(2024, 6, 30), 1_000_000, "13.75", 137_500, 862_500),
    (datetime.date(2025, 6, 30), 1_000_000, "14.5", 145_000, 855_000),
    (datetime.date(2026, 6, 30), 1_000_000, "15.25", 152_500, 847_500),
    (datetime.date(2027, 6, 30), 1_000_000, "16", 160_000, 840_000),
    (datetime.date(2028, 6, 30), 1_000_000, "17", 170_000, 830_000),
    (datetime.date(2035, 1, 1), 1_000_000, "17", 170_000, 830_000),
    (datetime.date(2025, 3, 3), 100, "14.5", 15, 85),
    (datetime.date(2026, 2, 2), 1_234_567, "15.25", 188_271, 1_046_296),
    (datetime.date(2024, 12, 31), 200, "13.75", 28, 172),
    (datetime.date(2029, 1, 1), 333, "17", 57, 276),
]


@pytest.mark.parametrize(("on", "gross", "rate", "withheld", "net"), CASES)
def test_each_years_rate_gives_the_hand_computed_amounts(tenant, on, gross, rate, withheld, net):
    retention = make(tenant, on, gross)

    assert retention.retention_percent == Decimal(rate)
    assert retention.subtotal == gross
    assert retention.retention == withheld
    assert retention.total_adjusted == net


@pytest.mark.parametrize(
    ("last_day", "rate_before", "rate_from"),
    [
        (datetime.date(2020, 12, 31), "10.75", "11.5"),
        (datetime.date(2021, 12, 31), "11.5", "12.25"),
        (datetime.date(2022, 12, 31), "12.25", "13"),
        (datetime.date(2023, 12, 31), "13", "13.75"),
        (datetime.date(2024, 12, 31), "13.75", "14.5"),
        (datetime.date(2025, 12, 31), "14.5", "15.25"),
        (datetime.date(2026, 12, 31), "15.25", "16"),
        (datetime.date(2027, 12, 31), "16", "17"),
    ],
)
def test_the_rate_changes_on_january_first(tenant, last_day, rate_before, rate_from):
    first_day = last_day + datetime.timedelta(days=1)

    before = make(tenant, last_day, 1_000_000)
    after = make(tenant, first_day, 1_000_000)

    assert before.retention_percent == Decimal(rate_before)
    assert after.retention_percent == Decimal(rate_from)
    assert after.retention - before.retention == (Decimal(rate_from) - Decimal(rate_before)) * (
        10_000
    )


def test_rates_are_data_a_new_row_applies_without_code(tenant):
    RetentionRate.objects.create(country_id="CL", valid_from="2030-01-01", percent="18")

    assert retention_rate(country="CL", on=datetime.date(2029, 12, 31)) == Decimal(17)
    assert make(tenant, datetime.date(2030, 1, 1), 1000).retention == 180


def test_a_date_before_any_rate_is_refused(tenant):
    with pytest.raises(InvalidInput) as error:
        make(tenant, datetime.date(2019, 5, 1), 1000)
    assert "date" in error.value.errors


def test_moving_the_date_rewithholds_at_the_new_years_rate(tenant):
    retention = make(tenant, datetime.date(2025, 12, 31), 10_000)
    assert retention.retention == 1450

    retention = retention_update(retention=retention, date=datetime.date(2026, 1, 1))

    assert retention.retention == 1525
    assert retention.lines.get().retention_percent == Decimal("15.25")


def test_finalize_numbers_from_our_sequence_and_records_the_event(tenant):
    first = make(tenant, datetime.date(2026, 2, 1), 50_000)
    second = make(tenant, datetime.date(2026, 2, 1), 70_000)

    first = retention_finalize(retention=first, now=NOW)
    second = retention_finalize(retention=second, now=NOW)

    assert (first.number, second.number) == (1, 2)
    assert first.status == "finalized"
    assert first.biller_status == BillerStatus.PENDING
    assert first.retention == 7625  # 50,000 × 15.25%
    assert Event.objects.filter(object_id=first.pk, type="retention.finalized").count() == 1
    with pytest.raises(DomainError) as error:
        retention_update(retention=first, note="changed")
    assert error.value.code == "retention_not_draft"
    with pytest.raises(DomainError):
        retention_finalize(retention=first, now=NOW)


def test_a_linked_purchase_must_be_of_the_same_supplier(tenant):
    purchase = FinalizedPurchaseFactory(workspace=tenant.workspace)
    retention = make(
        tenant, datetime.date(2026, 2, 1), 1000, supplier=purchase.supplier, purchase=purchase
    )
    assert retention.purchase_id == purchase.pk

    with pytest.raises(InvalidInput) as error:
        make(tenant, datetime.date(2026, 2, 1), 1000, purchase=purchase)
    assert "purchase" in error.value.errors


def test_a_linked_draft_purchase_keeps_its_supplier(tenant):
    # The rule above holds from the purchase's side too: moving the purchase to another
    # supplier would leave the retention paying a purchase of someone else.
    purchase = PurchaseFactory(workspace=tenant.workspace)
    retention = make(
        tenant, datetime.date(2026, 2, 1), 1000, supplier=purchase.supplier, purchase=purchase
    )
    other = SupplierFactory(workspace=tenant.workspace)

    moved = tenant.client.patch(f"/purchases/{purchase.pk}/", {"supplier": other.pk}, format="json")
    unchanged = tenant.client.patch(
        f"/purchases/{purchase.pk}/",
        {"supplier": purchase.supplier_id, "note": "ok"},
        format="json",
    )

    assert moved.status_code == 400, moved.json()
    assert retention.pk in moved.json()["supplier"][0]
    assert unchanged.status_code == 200, unchanged.json()
    purchase.refresh_from_db()
    assert purchase.supplier_id == retention.supplier_id


def test_api_create_finalize_by_get_and_pdf(tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)
    created = tenant.client.post(
        "/retentions/",
        {"supplier": supplier.pk, "date": "2026-04-10", "amount": "250000"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["amount"], body["retention_percent"], body["retention"], body["total"]) == (
        D("250000"),
        D("15.25"),
        D("38125"),
        D("211875"),
    )
    assert body["number"] is None
    assert body["document"] == 900

    finalized = tenant.client.get(f"/retentions/{body['id']}/finalize/")
    assert finalized.status_code == 200
    assert finalized.json()["number"] == 1
    assert finalized.json()["status"] == "finalized"
    retried = tenant.client.get(f"/retentions/{body['id']}/finalize/")
    assert (retried.status_code, retried.json()) == (200, finalized.json())

    patched = tenant.client.patch(f"/retentions/{body['id']}/", {"note": "x"}, format="json")
    assert patched.status_code == 409
    assert patched.json()["code"] == "retention_not_draft"

    pdf = tenant.client.get(f"/retentions/{body['id']}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    listed = tenant.client.get("/retentions/", {"total__gte": "211875", "supplier": supplier.pk})
    assert [row["id"] for row in listed.json()["results"]] == [body["id"]]
    assert tenant.client.get("/retentions/", {"number": 2}).json()["count"] == 0


def test_api_takes_amount_with_lines_only_as_their_sum(tenant):
    # A retrieved retention shows both `amount` and `lines`, and PUT back it must pass.
    supplier = SupplierFactory(workspace=tenant.workspace)
    body = {
        "supplier": supplier.pk,
        "date": "2026-04-10",
        "lines": [{"name": "Asesoría", "amount": "600"}, {"name": "Informe", "amount": "400"}],
    }

    agreeing = tenant.client.post("/retentions/", {**body, "amount": "1000"}, format="json")
    disagreeing = tenant.client.post("/retentions/", {**body, "amount": "999"}, format="json")

    assert agreeing.status_code == 201, agreeing.json()
    assert [line["name"] for line in agreeing.json()["lines"]] == ["Asesoría", "Informe"]
    assert agreeing.json()["amount"] == D("1000")
    assert disagreeing.status_code == 400
    assert disagreeing.json() == {
        "amount": [
            "The lines add up to 1000; send that amount with them, "
            "or send only `amount` or only `lines`."
        ]
    }


def test_retention_pdf_shows_gross_withheld_and_net(tenant):
    from invoices.pdf.render import document_html

    retention = make(tenant, datetime.date(2026, 2, 1), 100_000)

    html = document_html(retention)

    assert '<meta charset="utf-8">' in html
    assert "Total honorarios" in html and "$ 100.000" in html
    assert "Impuesto retenido 15,25%" in html and "-$ 15.250" in html
    assert "Total líquido" in html and "$ 84.750" in html
    assert "Proveedor" in html
    # Honorarios bear no IVA by nature: the line is not tagged "exento".
    assert 'class="tag"' not in html


def test_a_2023_boleta_de_honorarios_is_recorded_at_13_percent(tenant):
    supplier = SupplierFactory(workspace=tenant.workspace)

    response = tenant.client.post(
        "/retentions/",
        {"supplier": supplier.pk, "date": "2023-05-10", "amount": "100000"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert Decimal(str(response.json()["retention_percent"])) == Decimal(13)
    assert Decimal(str(response.json()["retention"])) == Decimal(13000)


def test_a_failed_filing_is_retried_over_the_api(tenant):
    retention = retention_finalize(
        retention=make(tenant, datetime.date(2026, 2, 1), 50_000), now=NOW
    )
    type(retention).objects.filter(pk=retention.pk).update(
        biller_status=BillerStatus.FAILED, tax_agency={"status": "unreachable"}
    )

    response = tenant.client.post(f"/retentions/{retention.pk}/retry_submission/")

    assert response.status_code == 200, response.json()
    assert (response.json()["biller_status"], response.json()["number"]) == ("pending", 1)
    assert response.json()["tax_agency"]["previous"] == {"status": "unreachable"}
    assert (
        Event.objects.filter(object_id=retention.pk, type="retention.tax_agency_retried").count()
        == 1
    )
