"""The sandbox agency on its own: what it checks and how it answers (rules.md §5, §8)."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from billing.models import SandboxSubmission
from billing.tax_agency import TaxAgencyError, agency_for, agency_for_country
from billing.tax_agency.sandbox import SandboxAgency, validate

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def factura(**changes):
    """A valid factura (33): 3 × 333.4 taxable and 500 exempt, 10% discount."""
    document = {
        "key": "inv_1",
        "country": "CL",
        "test_mode": True,
        "issuer_tax_id": "76086428-5",
        "customer_tax_id": "10000001-6",
        "customer_country": "CL",
        "document_type": "33",
        "folio": 7,
        "date": "2026-03-02",
        "currency": "CLP",
        "lines": [
            {
                "name": "A",
                "quantity": "3",
                "amount": "333.4",
                "total": "1000",
                "exempt": False,
                "tax_percent": "19",
            },
            {
                "name": "B",
                "quantity": "1",
                "amount": "500",
                "total": "500",
                "exempt": True,
                "tax_percent": "0",
            },
        ],
        "totals": {
            "discount": "150",
            "amount": "900",
            "exempt": "450",
            "tax": "171",
            "total": "1521",
        },
        "references": [],
    }
    document.update(changes)
    return document


def credit_note(**changes):
    reference = {
        "document": "33",
        "serial": "7",
        "date": "2026-03-01",
        "code": 1,
        "description": "Anula factura",
    }
    return factura(**{"document_type": "61", "key": "cre_1", "references": [reference], **changes})


def codes(document):
    return [reason["code"] for reason in validate(document, now=NOW)[1]]


def test_a_valid_document_is_accepted():
    assert validate(factura(), now=NOW) == ("EPR", [])
    assert validate(credit_note(), now=NOW) == ("EPR", [])


def test_the_issuer_rut_is_checked_on_the_cover():
    status, reasons = validate(factura(issuer_tax_id="76086428-4"), now=NOW)
    assert status == "RCT"
    assert reasons == [
        {
            "code": "issuer_tax_id_invalid",
            "field": "issuer_tax_id",
            "message": "76086428-4: The check digit does not match.",
        }
    ]
    assert validate(factura(issuer_tax_id=""), now=NOW)[0] == "RCT"


def test_the_customer_rut_is_checked():
    assert codes(factura(customer_tax_id="10000001-5")) == ["customer_tax_id_invalid"]
    assert codes(factura(customer_tax_id="")) == ["customer_tax_id_missing"]
    # A boleta's buyer need not identify themselves; a foreign buyer is not checked.
    # Priced gross: 1.000 = 840 neto + 160 IVA.
    boleta_totals = {
        "discount": "0",
        "amount": "840",
        "exempt": "0",
        "tax": "160",
        "total": "1000",
    }
    boleta = factura(
        document_type="39",
        customer_tax_id="",
        totals=boleta_totals,
        lines=[factura()["lines"][0]],
        prices_include_tax=True,
    )
    assert codes(boleta) == []
    assert codes(factura(customer_tax_id="X-1", customer_country="US")) == []


def test_a_note_on_a_boleta_may_go_to_a_buyer_without_a_tax_id_a_note_on_a_factura_not():
    def note_on(code):
        reference = {"document": code, "serial": "5", "date": "2026-03-01", "code": 3}
        return factura(document_type="61", customer_tax_id="", references=[reference])

    assert codes(note_on("39")) == []
    assert codes(note_on("41")) == []
    assert codes(note_on("33")) == ["customer_tax_id_missing"]


def test_a_customer_with_only_ones_in_its_tax_id_is_not_registered():
    status, reasons = validate(factura(customer_tax_id="11111111-1"), now=NOW)
    assert status == "RCH"
    assert [r["code"] for r in reasons] == ["customer_not_registered"]


def test_tax_is_computed_once_on_the_net_not_per_line():
    # Three lines of 333: per-line tax would be 3 × round(63.27) = 189; the law says 190.
    line = {
        "name": "A",
        "quantity": "1",
        "amount": "333",
        "total": "333",
        "exempt": False,
        "tax_percent": "19",
    }
    totals = {"discount": "0", "amount": "999", "exempt": "0", "tax": "190", "total": "1189"}
    assert codes(factura(lines=[line] * 3, totals=totals)) == []
    per_line = {**totals, "tax": "189", "total": "1188"}
    status, reasons = validate(factura(lines=[line] * 3, totals=per_line), now=NOW)
    assert status == "RCH"
    assert [(r["code"], r["field"]) for r in reasons] == [
        ("totals_inconsistent", "totals.tax"),
        ("totals_inconsistent", "totals.total"),
    ]
    assert reasons[0]["message"] == "The document declares tax 189; its lines give 190."


def test_totals_must_match_the_lines_after_the_document_discount():
    wrong = copy.deepcopy(factura())
    wrong["totals"].update(amount="1000", exempt="350")  # the discount put all on one side
    assert codes(wrong) == ["totals_inconsistent", "totals_inconsistent"]
    assert codes(factura(lines=[])) == ["lines_missing"]


def test_the_folio_is_required():
    assert codes(factura(folio=None)) == ["folio_missing"]
    assert codes(factura(folio=0)) == ["folio_missing"]


def test_the_date_cannot_be_after_the_submission_anywhere_on_earth():
    # 15:00 UTC on March 2 is already March 3 in Kiribati (UTC+14), not yet March 4.
    assert codes(factura(date="2026-03-03")) == []
    assert codes(factura(date="2026-03-04")) == ["date_in_future"]


def test_credit_and_debit_notes_need_a_reference_with_a_reason():
    assert codes(credit_note(references=[])) == ["reference_required"]
    assert codes(factura(document_type="56", key="deb_1")) == ["reference_required"]
    without_reason = credit_note()
    without_reason["references"][0]["code"] = None
    assert codes(without_reason) == ["reference_required"]


def test_references_must_be_complete():
    incomplete = credit_note()
    incomplete["references"].append(
        {"document": "801", "serial": "", "date": "2026-03-09", "code": 4, "description": "x" * 91}
    )
    assert [(r["code"], r["field"]) for r in validate(incomplete, now=NOW)[1]] == [
        ("reference_invalid", "references.1.serial"),
        ("reference_invalid", "references.1.date"),
        ("reference_invalid", "references.1.code"),
        ("reference_invalid", "references.1.description"),
    ]
    assert codes(credit_note(references=credit_note()["references"] * 41)) == [
        "references_too_many"
    ]


def test_unknown_types_and_malformed_documents_are_rejected():
    assert codes(factura(document_type="30")) == ["document_type_unknown"]  # paper
    status, reasons = validate(factura(date="yesterday"), now=NOW)
    assert status == "RSC"
    assert reasons[0]["code"] == "schema_invalid"
    broken = factura()
    del broken["totals"]
    assert validate(broken, now=NOW)[0] == "RSC"


def test_the_verdict_is_reported_from_the_second_poll_on():
    agency = SandboxAgency()
    tracking_id = agency.submit(factura(), now=NOW)

    first = agency.poll(tracking_id, now=NOW + timedelta(seconds=2))
    assert first.status == "processing"
    assert first.response == {
        "tracking_id": tracking_id,
        "received_at": NOW.isoformat(),
        "upload_status": "REC",
        "upload_status_description": "Envío recibido",
    }
    second = agency.poll(tracking_id, now=NOW + timedelta(seconds=6))
    assert second.status == "accepted"
    assert second.response["processed_at"] == (NOW + timedelta(seconds=6)).isoformat()
    assert second.response["documents"][0]["status"] == "DOK"
    assert agency.poll(tracking_id, now=NOW + timedelta(hours=1)) == second


def test_a_rejection_carries_the_reasons():
    agency = SandboxAgency()
    tracking_id = agency.submit(factura(customer_tax_id="11111111-1"), now=NOW)
    agency.poll(tracking_id, now=NOW)
    result = agency.poll(tracking_id, now=NOW)
    assert result.status == "rejected"
    assert result.response["upload_status"] == "RCH"
    assert result.response["documents"][0]["status"] == "FAU"
    assert result.response["reasons"][0]["code"] == "customer_not_registered"


def test_submissions_live_in_the_database_and_resending_is_idempotent():
    tracking_id = SandboxAgency().submit(factura(), now=NOW)
    # Another process, another instance: same answer.
    assert SandboxAgency().submit(factura(), now=NOW) == tracking_id
    assert SandboxSubmission.objects.get().payload["folio"] == 7
    # A rejected document sent again is a new submission.
    rejected = factura(key="inv_2", folio=0)
    assert SandboxAgency().submit(rejected, now=NOW) != SandboxAgency().submit(rejected, now=NOW)


def test_an_unknown_tracking_id_is_an_error_to_retry():
    with pytest.raises(TaxAgencyError):
        SandboxAgency().poll("trk_unknown", now=NOW)


def test_every_country_uses_the_sandbox_unless_configured(settings, tenant):
    assert isinstance(agency_for(workspace=tenant.workspace), SandboxAgency)
    assert isinstance(agency_for_country("US"), SandboxAgency)
    settings.TAX_AGENCY_BACKENDS = {"US": "invoices.tests.test_tax_agency.UnreachableAgency"}
    assert type(agency_for_country("US")).__name__ == "UnreachableAgency"
    assert isinstance(agency_for_country("CL"), SandboxAgency)
