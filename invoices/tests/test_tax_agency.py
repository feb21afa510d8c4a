"""Filing documents with the tax agency: the services, with the sandbox agency and time
injected (rules.md §5)."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from billing.choices import BillerStatus
from billing.documents import apply_totals
from billing.errors import DomainError
from billing.models import DocumentType, Event, SandboxSubmission
from billing.tax_agency import PollResult, TaxAgencyError, TaxDocument
from billing.tax_agency.sandbox import SandboxAgency
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, CreditNoteLine, DebitNote, DebitNoteLine, Invoice
from invoices.services import filing
from invoices.services.filing import (
    MAX_POLLS,
    SUBMIT_RETRY_SCHEDULE,
    AgencyAnswer,
    document_retry_submission,
    tax_agency_attempt,
    tax_agency_due,
    tax_agency_finish,
    tax_agency_start,
    tax_document,
)
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.tests.dte_helpers import load_cafs
from invoices.tests.pdf_helpers import make_issuer
from tests.locks import waits_on_a_lock

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ISSUER_RUT = "76086428-5"
NOT_REGISTERED_RUT = "11111111-1"


@pytest.fixture
def workspace(tenant):
    tenant.workspace.tax_id = ISSUER_RUT
    tenant.workspace.save()
    return tenant.workspace


@pytest.fixture
def no_jitter(monkeypatch):
    monkeypatch.setattr(filing.random, "uniform", lambda low, high: 0)


def finalized_invoice(workspace, *, customer=None, now=NOW, **fields):
    invoice = invoice_create(
        workspace=workspace,
        test_mode=False,
        customer=customer or CustomerFactory(workspace=workspace),
        document=DocumentType.objects.get(pk=33),
        date=now.date(),
        lines=[
            {"name": "Consulting", "amount": Decimal("333.4"), "quantity": 3},
            {"name": "Exempt fee", "amount": 500, "exempt": True},
        ],
        **fields,
    )
    return invoice_finalize(invoice=invoice, now=now)


def finalized_note(model, line_model, invoice, *, document_id, number=1, **fields):
    note = model.objects.create(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        customer=invoice.customer,
        document_id=document_id,
        date=NOW.date(),
        currency_id=invoice.currency_id,
        tax_percent=Decimal(19),
        number=number,
        invoice=invoice,
        reason=fields.pop("reason", 3),
        status="finalized",
        biller_status=BillerStatus.PENDING,
        finalized_at=NOW,
        **fields,
    )
    lines = [line_model(note=note, name="Correction", amount=Decimal(100))]
    apply_totals(note, lines)
    line_model.objects.bulk_create(lines)
    note.save()
    return note


def attempt(document, at):
    return tax_agency_attempt(document_id=document.pk, clock=lambda: at)


def run_until_done(document, start=NOW, limit=50):
    """Make every attempt the moment it is due, as beat and the countdowns would."""
    at = start
    for _ in range(limit):
        next_at = attempt(document, at)
        if next_at is None:
            break
        at = next_at
    document.refresh_from_db()
    return document


def events(document, type):
    return list(Event.objects.filter(object_id=document.pk, type=type))


# -- The happy path -----------------------------------------------------------------------


def test_finalize_leaves_the_invoice_pending_for_the_agency(workspace):
    invoice = finalized_invoice(workspace)
    assert invoice.biller_status == BillerStatus.PENDING
    assert tax_agency_due(now=NOW) == [invoice.pk]


def test_an_imported_invoice_is_never_sent(workspace):
    invoice = finalized_invoice(workspace, imported=True)
    assert invoice.biller_status == BillerStatus.SUCCEEDED
    assert tax_agency_due(now=NOW) == []


def test_submitted_then_polled_until_the_agency_accepts(workspace, no_jitter):
    invoice = finalized_invoice(workspace)

    poll_at = attempt(invoice, NOW)
    invoice.refresh_from_db()
    assert invoice.biller_status == BillerStatus.PROCESSING
    assert poll_at == NOW + timedelta(seconds=2)
    assert invoice.tax_agency_tracking_id.startswith("trk_")
    assert invoice.tax_agency == {
        "tracking_id": invoice.tax_agency_tracking_id,
        "status": "processing",
        "submitted_at": NOW.isoformat(),
    }
    assert attempt(invoice, poll_at - timedelta(seconds=1)) is None  # not due yet

    # The agency answers "processing" to the first poll; the wait doubles.
    second_poll_at = attempt(invoice, poll_at)
    assert second_poll_at == poll_at + timedelta(seconds=4)
    invoice.refresh_from_db()
    assert invoice.biller_status == BillerStatus.PROCESSING
    assert invoice.tax_agency["response"]["upload_status"] == "REC"

    assert attempt(invoice, second_poll_at) is None
    invoice.refresh_from_db()
    assert invoice.biller_status == BillerStatus.SUCCEEDED
    assert invoice.biller_next_attempt_at is None
    assert invoice.tax_agency["status"] == "accepted"
    assert invoice.tax_agency["tracking_id"] == invoice.tax_agency_tracking_id
    assert invoice.tax_agency["submitted_at"] == NOW.isoformat()
    assert invoice.tax_agency["accepted_at"] == second_poll_at.isoformat()
    response = invoice.tax_agency["response"]
    assert response["upload_status"] == "EPR"
    assert response["documents"] == [
        {
            "document_type": "33",
            "folio": invoice.number,
            "status": "DOK",
            "description": "Documento recibido por el SII. Datos coinciden con los registrados.",
        }
    ]
    [event] = events(invoice, "invoice.tax_agency_succeeded")
    assert event.data["biller_status"] == "succeeded"
    assert event.data["tax_agency"]["status"] == "accepted"
    assert attempt(invoice, second_poll_at + timedelta(days=1)) is None
    assert tax_agency_due(now=NOW + timedelta(days=1)) == []


def test_the_agency_receives_the_finalized_document(workspace):
    customer = CustomerFactory(workspace=workspace)
    invoice = finalized_invoice(workspace, customer=customer, discount=Decimal(10))
    assert invoice.tax == 171  # round(19% of the taxable net 900), once
    document = tax_document(invoice)
    assert document == {
        "key": invoice.pk,
        "country": "CL",
        "test_mode": False,
        "issuer_tax_id": ISSUER_RUT,
        "customer_tax_id": customer.tax_id,
        "customer_country": "CL",
        "document_type": "33",
        "folio": invoice.number,
        "date": "2026-03-02",
        "currency": "CLP",
        "lines": [
            {
                "name": "Consulting",
                "quantity": "3",
                "amount": "333.4",
                "total": "1000",
                "exempt": False,
                "tax_percent": "19",
            },
            {
                "name": "Exempt fee",
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
        "prices_include_tax": False,  # a factura is priced net
    }
    submission = SandboxSubmission.objects.get(pk=SandboxAgency().submit(document, now=NOW))
    assert submission.verdict == "accepted"


def test_the_claim_queues_the_document_under_a_lease(workspace):
    invoice = finalized_invoice(workspace)
    call = tax_agency_start(document_id=invoice.pk, now=NOW)
    invoice.refresh_from_db()
    assert call is not None
    assert (call.stage, call.attempt, call.country) == ("submit", 1, "CL")
    assert call.document is not None and call.document["folio"] == invoice.number
    assert invoice.biller_status == BillerStatus.QUEUED
    assert invoice.biller_attempts == 1
    assert invoice.biller_next_attempt_at == NOW + timedelta(seconds=120)
    # Held: nobody else claims it until the lease lapses.
    assert tax_agency_start(document_id=invoice.pk, now=NOW + timedelta(seconds=119)) is None
    assert tax_agency_due(now=NOW + timedelta(seconds=119)) == []


def test_a_lapsed_lease_is_claimed_again_and_the_late_answer_is_ignored(workspace):
    invoice = finalized_invoice(workspace)
    first = tax_agency_start(document_id=invoice.pk, now=NOW)
    later = NOW + timedelta(seconds=121)  # the first worker died, or hangs
    assert tax_agency_due(now=later) == [invoice.pk]
    second = tax_agency_start(document_id=invoice.pk, now=later)
    assert second is not None and second.attempt == 2

    assert (
        tax_agency_finish(call=first, answer=AgencyAnswer(tracking_id="trk_old"), now=later) is None
    )
    invoice.refresh_from_db()
    assert (invoice.biller_status, invoice.tax_agency_tracking_id) == (BillerStatus.QUEUED, "")

    tax_agency_finish(call=second, answer=AgencyAnswer(tracking_id="trk_new"), now=later)
    invoice.refresh_from_db()
    assert (invoice.biller_status, invoice.tax_agency_tracking_id) == (
        BillerStatus.PROCESSING,
        "trk_new",
    )


# -- Rejections ---------------------------------------------------------------------------


def test_the_agency_rejects_a_customer_it_does_not_know(workspace):
    customer = CustomerFactory(workspace=workspace, tax_id=NOT_REGISTERED_RUT)
    invoice = run_until_done(finalized_invoice(workspace, customer=customer))

    assert invoice.biller_status == BillerStatus.FAILED
    assert invoice.tax_agency["status"] == "rejected"
    assert invoice.tax_agency["reasons"] == [
        {
            "code": "customer_not_registered",
            "field": "customer_tax_id",
            "message": "11111111-1 is not registered with the tax agency.",
        }
    ]
    response = invoice.tax_agency["response"]
    assert response["upload_status"] == "RCH"
    assert response["documents"][0]["status"] == "FAU"
    [event] = events(invoice, "invoice.tax_agency_failed")
    assert event.data["tax_agency"]["reasons"][0]["code"] == "customer_not_registered"
    assert events(invoice, "invoice.tax_agency_succeeded") == []


def test_an_issuer_without_a_valid_rut_is_rejected_on_the_cover(workspace):
    workspace.tax_id = "76086428-4"
    workspace.save()
    invoice = run_until_done(finalized_invoice(workspace))
    assert invoice.biller_status == BillerStatus.FAILED
    assert invoice.tax_agency["response"]["upload_status"] == "RCT"
    assert invoice.tax_agency["reasons"][0]["code"] == "issuer_tax_id_invalid"


def test_a_credit_note_without_its_reference_is_rejected(workspace):
    # It credits an invoice that was never finalized: there is no folio to reference.
    draft = invoice_create(
        workspace=workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=workspace),
        document=DocumentType.objects.get(pk=33),
        date=NOW.date(),
        lines=[{"name": "Item", "amount": 100}],
    )
    note = finalized_note(CreditNote, CreditNoteLine, draft, document_id=61)
    assert tax_document(note)["references"] == []

    note = run_until_done(note)
    assert note.biller_status == BillerStatus.FAILED
    assert [r["code"] for r in note.tax_agency["reasons"]] == ["reference_required"]
    assert len(events(note, "credit_note.tax_agency_failed")) == 1


@pytest.mark.parametrize(
    ("model", "line_model", "document_id", "object_name"),
    [
        (CreditNote, CreditNoteLine, 61, "credit_note"),
        (DebitNote, DebitNoteLine, 56, "debit_note"),
    ],
)
def test_a_note_references_its_invoice_and_is_accepted(
    workspace, model, line_model, document_id, object_name
):
    invoice = finalized_invoice(workspace)
    note = finalized_note(
        model, line_model, invoice, document_id=document_id, description="Precio corregido"
    )
    assert tax_document(note)["references"] == [
        {
            "document": "33",
            "serial": str(invoice.number),
            "date": "2026-03-02",
            "code": 3,
            "description": "Precio corregido",
        }
    ]
    note = run_until_done(note)
    assert note.biller_status == BillerStatus.SUCCEEDED
    [event] = events(note, f"{object_name}.tax_agency_succeeded")
    assert event.data["invoice"] == invoice.pk
    assert event.data["tax_agency"]["response"]["upload_status"] == "EPR"


# -- Errors talking to the agency ---------------------------------------------------------


class UnreachableAgency:
    def submit(self, document: TaxDocument, *, now: datetime) -> str:
        raise TaxAgencyError("connection refused")

    def poll(self, tracking_id: str, *, now: datetime) -> PollResult:
        raise TaxAgencyError("connection refused")


class FlakyAgency(SandboxAgency):
    """Fails the first call of each kind, then behaves."""

    failed: set[str] = set()

    def submit(self, document: TaxDocument, *, now: datetime) -> str:
        if "submit" not in self.failed:
            self.failed.add("submit")
            raise TimeoutError("read timed out")
        return super().submit(document, now=now)

    def poll(self, tracking_id: str, *, now: datetime) -> PollResult:
        if "poll" not in self.failed:
            self.failed.add("poll")
            raise TaxAgencyError("503 Service Unavailable")
        return super().poll(tracking_id, now=now)


class SilentAgency(SandboxAgency):
    """Accepts submissions and never decides."""

    def poll(self, tracking_id: str, *, now: datetime) -> PollResult:
        return PollResult(status="processing", response={"upload_status": "REC"})


def use_agency(settings, agency):
    settings.TAX_AGENCY_BACKENDS = {"CL": f"{__name__}.{agency.__name__}"}


def test_submissions_back_off_exponentially_then_fail(workspace, settings, no_jitter):
    use_agency(settings, UnreachableAgency)
    invoice = finalized_invoice(workspace)

    at = NOW
    for number, wait in enumerate(SUBMIT_RETRY_SCHEDULE, start=1):
        assert attempt(invoice, at) == at + wait
        invoice.refresh_from_db()
        assert (invoice.biller_status, invoice.biller_attempts) == (BillerStatus.QUEUED, number)
        assert invoice.tax_agency["last_error"] == {
            "stage": "submit",
            "attempt": number,
            "at": at.isoformat(),
            "message": "TaxAgencyError: connection refused",
        }
        at += wait
    assert [w.total_seconds() for w in SUBMIT_RETRY_SCHEDULE[:4]] == [30, 60, 120, 240]

    assert attempt(invoice, at) is None
    invoice.refresh_from_db()
    assert invoice.biller_status == BillerStatus.FAILED
    assert invoice.biller_attempts == len(SUBMIT_RETRY_SCHEDULE) + 1 == 12
    assert invoice.tax_agency["status"] == "unreachable"
    assert invoice.tax_agency["reasons"][0]["code"] == "agency_unreachable"
    assert len(events(invoice, "invoice.tax_agency_failed")) == 1
    assert tax_agency_due(now=at + timedelta(days=30)) == []


def test_waits_are_jittered_within_ten_percent(workspace, settings):
    use_agency(settings, UnreachableAgency)
    invoice = finalized_invoice(workspace)
    wait = attempt(invoice, NOW) - NOW
    assert timedelta(seconds=27) <= wait <= timedelta(seconds=33)


def test_one_failure_to_submit_or_poll_is_retried_and_then_accepted(workspace, settings, no_jitter):
    FlakyAgency.failed = set()
    use_agency(settings, FlakyAgency)
    invoice = run_until_done(finalized_invoice(workspace))
    assert invoice.biller_status == BillerStatus.SUCCEEDED
    assert FlakyAgency.failed == {"submit", "poll"}
    assert SandboxSubmission.objects.count() == 1


def test_polls_back_off_to_a_ceiling_and_give_up(workspace, settings, no_jitter, monkeypatch):
    use_agency(settings, SilentAgency)
    invoice = finalized_invoice(workspace)
    at = attempt(invoice, NOW)
    waits = []
    for _ in range(12):
        next_at = attempt(invoice, at)
        waits.append((next_at - at).total_seconds())
        at = next_at
    assert waits == [4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600, 600]
    assert MAX_POLLS == 150

    monkeypatch.setattr(filing, "MAX_POLLS", 14)
    assert attempt(invoice, at) == at + timedelta(minutes=10)  # poll 13
    assert attempt(invoice, at + timedelta(minutes=10)) is None  # poll 14: the last
    invoice.refresh_from_db()
    assert invoice.biller_status == BillerStatus.FAILED
    assert invoice.tax_agency["reasons"][0]["code"] == "agency_timeout"
    assert len(events(invoice, "invoice.tax_agency_failed")) == 1


# -- Retrying a failed submission ---------------------------------------------------------


def test_a_failed_submission_is_retried_unchanged(workspace, settings, no_jitter):
    use_agency(settings, UnreachableAgency)
    invoice = run_until_done(finalized_invoice(workspace))
    assert invoice.biller_status == BillerStatus.FAILED
    failed_content = (invoice.number, invoice.total, invoice.finalized_at)

    later = NOW + timedelta(days=2)
    settings.TAX_AGENCY_BACKENDS = {}  # the agency is back
    retried = document_retry_submission(document=invoice, now=later)
    assert retried.biller_status == BillerStatus.PENDING
    assert retried.biller_attempts == 0
    assert retried.tax_agency["status"] == "pending"
    assert retried.tax_agency["previous"]["reasons"][0]["code"] == "agency_unreachable"
    assert tax_agency_due(now=later) == [invoice.pk]

    invoice = run_until_done(retried, start=later)
    assert invoice.biller_status == BillerStatus.SUCCEEDED
    assert (invoice.number, invoice.total, invoice.finalized_at) == failed_content


def test_a_rejected_document_is_submitted_anew_when_retried(workspace):
    customer = CustomerFactory(workspace=workspace, tax_id=NOT_REGISTERED_RUT)
    invoice = run_until_done(finalized_invoice(workspace, customer=customer))
    first_tracking_id = invoice.tax_agency_tracking_id

    invoice = run_until_done(document_retry_submission(document=invoice, now=NOW))
    assert invoice.biller_status == BillerStatus.FAILED  # the customer is still unknown
    assert invoice.tax_agency_tracking_id != first_tracking_id
    assert invoice.tax_agency["reasons"][0]["code"] == "customer_not_registered"
    assert "previous" not in invoice.tax_agency
    assert SandboxSubmission.objects.filter(key=invoice.pk).count() == 2
    assert len(events(invoice, "invoice.tax_agency_failed")) == 2


def test_a_developer_retries_a_failed_submission_over_the_api(tenant, workspace, settings):
    use_agency(settings, UnreachableAgency)
    invoice = run_until_done(finalized_invoice(workspace))
    assert invoice.tax_agency["reasons"][0]["code"] == "agency_unreachable"
    settings.TAX_AGENCY_BACKENDS = {}  # the agency is back

    response = tenant.client.post(f"/invoices/{invoice.pk}/retry_submission/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["biller_status"], body["number"]) == ("pending", invoice.number)
    assert body["tax_agency"]["previous"]["reasons"][0]["code"] == "agency_unreachable"
    (retried,) = events(invoice, "invoice.tax_agency_retried")
    assert retried.data["biller_status"] == "pending"
    invoice = run_until_done(invoice, start=datetime.now(UTC))
    assert invoice.biller_status == BillerStatus.SUCCEEDED
    assert len(events(invoice, "invoice.tax_agency_succeeded")) == 1


def test_a_rejected_note_is_retried_over_the_api_with_its_folio(tenant, workspace):
    customer = CustomerFactory(workspace=workspace, tax_id=NOT_REGISTERED_RUT)
    invoice = run_until_done(finalized_invoice(workspace, customer=customer))
    note = run_until_done(
        finalized_note(CreditNote, CreditNoteLine, invoice, document_id=61, number=7)
    )
    assert note.biller_status == BillerStatus.FAILED

    response = tenant.client.post(f"/creditnotes/{note.pk}/retry_submission/")

    assert response.status_code == 200, response.json()
    assert (response.json()["biller_status"], response.json()["number"]) == ("pending", 7)
    assert len(events(note, "credit_note.tax_agency_retried")) == 1


def test_a_submission_that_has_not_failed_is_not_retried_over_the_api(tenant, workspace):
    invoice = finalized_invoice(workspace)

    response = tenant.client.post(f"/invoices/{invoice.pk}/retry_submission/", {"x": 1})
    assert response.status_code == 400, response.json()  # the action takes no body
    response = tenant.client.post(f"/invoices/{invoice.pk}/retry_submission/")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "tax_agency_not_failed"
    assert not events(invoice, "invoice.tax_agency_retried")


@pytest.mark.parametrize(
    "status",
    [BillerStatus.PENDING, BillerStatus.QUEUED, BillerStatus.PROCESSING, BillerStatus.SUCCEEDED],
)
def test_only_a_failed_submission_is_retried(workspace, status):
    invoice = finalized_invoice(workspace)
    Invoice.objects.filter(pk=invoice.pk).update(biller_status=status)
    with pytest.raises(DomainError) as error:
        document_retry_submission(document=invoice, now=NOW)
    assert error.value.code == "tax_agency_not_failed"


def test_an_accepted_document_submitted_again_keeps_its_tracking_id(workspace):
    # A submit whose answer was lost (the worker died) is made again: the agency files
    # the document once.
    invoice = finalized_invoice(workspace)
    document = tax_document(invoice)
    agency = SandboxAgency()
    assert agency.submit(document, now=NOW) == agency.submit(document, now=NOW)
    assert SandboxSubmission.objects.count() == 1


# -- Concurrency --------------------------------------------------------------------------


class CountingAgency(SandboxAgency):
    submitted: list[str] = []
    lock = threading.Lock()

    def submit(self, document: TaxDocument, *, now: datetime) -> str:
        with self.lock:
            self.submitted.append(document["key"])
        threading.Event().wait(0.05)  # a slow agency widens the window for a double send
        return super().submit(document, now=now)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_processors_never_submit_a_document_twice(workspace, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no row locks to skip")
    use_agency(settings, CountingAgency)
    CountingAgency.submitted = []
    invoices = [finalized_invoice(workspace) for _ in range(6)]
    start = threading.Barrier(4)
    errors = []

    def processor() -> None:
        try:
            start.wait()
            for _ in range(3):
                for document_id in tax_agency_due(now=NOW) + [i.pk for i in invoices]:
                    tax_agency_attempt(document_id=document_id, clock=lambda: NOW)
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=processor) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(CountingAgency.submitted) == sorted(i.pk for i in invoices)
    assert set(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list(
            "biller_status", flat=True
        )
    ) == {BillerStatus.PROCESSING}
    assert SandboxSubmission.objects.count() == len(invoices)


def test_future_dated_documents_are_rejected(workspace):
    invoice = finalized_invoice(workspace)
    Invoice.objects.filter(pk=invoice.pk).update(date=date(2026, 3, 4))
    invoice = run_until_done(invoice)
    assert invoice.biller_status == BillerStatus.FAILED
    assert invoice.tax_agency["reasons"][0]["code"] == "date_in_future"


def test_a_test_clock_invoice_is_judged_by_the_test_clock(workspace, no_jitter):
    # The workspace's test clock runs a year ahead of the (real) time beat works on.
    ahead = NOW + timedelta(days=365)
    workspace.test_clock_at = ahead
    workspace.save(update_fields=["test_clock_at"])
    invoice = invoice_create(
        workspace=workspace,
        test_mode=True,
        customer=CustomerFactory(workspace=workspace, test_mode=True),
        document=DocumentType.objects.get(pk=33),
        date=ahead.date(),
        lines=[{"name": "Consulting", "amount": Decimal(1000)}],
    )
    invoice = run_until_done(invoice_finalize(invoice=invoice, now=ahead), start=NOW)
    assert invoice.biller_status == BillerStatus.SUCCEEDED

    # Live mode never reads the test clock: the same date is a year in its future.
    live = run_until_done(finalized_invoice(workspace, now=ahead), start=NOW)
    assert live.biller_status == BillerStatus.FAILED
    assert live.tax_agency["reasons"][0]["code"] == "date_in_future"


def test_a_test_clock_dte_is_verified_at_the_test_clock(workspace, no_jitter):
    """Its signing certificate, made for the sandbox on the test clock, is valid from the
    clock's time on: the agency checks it then, not at the real time beat works on."""
    ahead = NOW + timedelta(days=365)
    workspace.test_clock_at = ahead
    workspace.save(update_fields=["test_clock_at"])
    make_issuer(workspace)
    load_cafs(workspace, test_mode=True)
    invoice = invoice_create(
        workspace=workspace,
        test_mode=True,
        customer=CustomerFactory(workspace=workspace, test_mode=True),
        document=DocumentType.objects.get(pk=33),
        date=ahead.date(),
        lines=[{"name": "Consulting", "amount": Decimal(1000)}],
    )
    invoice = invoice_finalize(invoice=invoice, now=ahead)
    assert tax_document(invoice)["xml"]  # filed with its signed DTE

    invoice = run_until_done(invoice, start=NOW)

    assert invoice.biller_status == BillerStatus.SUCCEEDED, invoice.tax_agency


def test_the_sweep_queues_a_document_once_while_its_message_is_in_flight(workspace, settings):
    settings.SWEEP_ENQUEUE_LEASE_SECONDS = 600
    invoice = finalized_invoice(workspace)

    first = tax_agency_due(now=NOW)
    again = [tax_agency_due(now=NOW + timedelta(seconds=15 * n)) for n in range(1, 5)]
    lost = tax_agency_due(now=NOW + timedelta(seconds=601))  # the message was dropped

    assert first == [invoice.pk]
    assert again == [[]] * 4
    assert lost == [invoice.pk]


def test_taking_a_document_up_lets_the_sweep_queue_its_next_poll(workspace, no_jitter):
    invoice = finalized_invoice(workspace)
    assert tax_agency_due(now=NOW) == [invoice.pk]

    poll_at = attempt(invoice, NOW)

    assert tax_agency_due(now=poll_at) == [invoice.pk]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_claim_waits_for_a_document_another_write_has_locked(workspace):
    """A short write holding the document's row (its PDF being stored) when the queued
    attempt runs: the attempt waits for it and claims the document, rather than give up
    and leave it queued until the sweep's mark lapses."""
    invoice = finalized_invoice(workspace)
    calls, finished = [], threading.Event()

    def attempt():
        try:
            calls.append(tax_agency_start(document_id=invoice.pk, now=NOW))
        finally:
            finished.set()
            connection.close()

    with transaction.atomic():
        Invoice.objects.select_for_update().get(pk=invoice.pk)
        thread = threading.Thread(target=attempt)
        thread.start()
        while not finished.is_set() and not waits_on_a_lock():
            finished.wait(0.01)
    thread.join()

    assert calls and calls[0] is not None and calls[0].stage == "submit"
    invoice.refresh_from_db()
    assert invoice.biller_status == BillerStatus.QUEUED
