"""Filing finalized invoices, credit notes and debit notes with the tax agency (rules.md §5).

`biller_status` moves pending → queued → processing → succeeded | failed:

- pending: finalized, never sent (or put back by `document_retry_submission`, or held
  back while its DTE cannot be built: `_hold_back`);
- queued: being submitted, or waiting to submit again after the agency could not be
  reached;
- processing: the agency holds it under `tax_agency_tracking_id`; polled until it decides;
- succeeded / failed: the agency accepted or rejected it, or the retries ran out.

Like webhook deliveries, each attempt is three steps: `tax_agency_start` claims the due
document in a short transaction (the row lock skips documents another worker holds, and
`biller_next_attempt_at` becomes a lease so a dead worker's claim lapses),
`_ask_agency` makes the call holding no transaction or lock, and `tax_agency_finish`
records the answer in a short transaction, unless a later claim took over meanwhile
(`biller_attempts` tells them apart). `biller_attempts` counts the claims of the current
stage: submissions while pending/queued, polls while processing.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.module_loading import import_string

from billing.choices import BillerStatus
from billing.clock import tenant_time
from billing.counterparts import document_counterpart
from billing.db import relax_commit_durability
from billing.documents import line_tax_percent
from billing.errors import DomainError
from billing.models import FiscalDocument
from billing.money import round_amount
from billing.queueing import task_queue_or_leave
from billing.services.events import event_record
from billing.sweeps import claim_for_enqueue
from billing.tax_agency import (
    PollResult,
    TaxAgencyError,
    TaxDocument,
    TaxDocumentLine,
    TaxDocumentReference,
    agency_for_country,
)
from invoices.dte import dte_for_filing
from invoices.models import CreditNote, DebitNote, Invoice
from invoices.representations import invoice_snapshot, note_snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiledDocumentKind:
    """How the loop handles one model of fiscal document.

    Invoices and notes register here; so do other apps' documents (procurement's purchases
    and retentions), without this module knowing them: they share the biller_status
    columns of `FiscalDocument` and differ only in what is named here.
    """

    model: type[FiscalDocument]
    event_object: str  # events are `<event_object>.tax_agency_succeeded|failed`
    snapshot: Callable[[Any], dict[str, Any]]  # what those events carry
    # Adds what only this kind files (e.g. a retention's withholding) to the TaxDocument.
    extend: Callable[[Any, TaxDocument], TaxDocument] | None = None


FILED_DOCUMENTS: dict[str, FiledDocumentKind] = {}


def tax_agency_register(prefix: str, kind: FiledDocumentKind) -> None:
    """Let the loop file `kind.model`, whose ids start with `prefix_`."""
    FILED_DOCUMENTS[prefix] = kind


def _kind(model: type[FiscalDocument]) -> FiledDocumentKind:
    return next(kind for kind in FILED_DOCUMENTS.values() if kind.model is model)


tax_agency_register("inv", FiledDocumentKind(Invoice, "invoice", invoice_snapshot))
tax_agency_register("cre", FiledDocumentKind(CreditNote, "credit_note", note_snapshot))
tax_agency_register("deb", FiledDocumentKind(DebitNote, "debit_note", note_snapshot))
OPEN_STATUSES = (BillerStatus.PENDING, BillerStatus.QUEUED, BillerStatus.PROCESSING)

# Waits after the 1st, 2nd, … submission that could not reach the agency: about 16 hours
# in all (the SII's outages last hours), then the document fails as `agency_unreachable`.
SUBMIT_RETRY_SCHEDULE = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=4),
    timedelta(minutes=8),
    timedelta(minutes=16),
    timedelta(minutes=32),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
# Waits before the 1st, 2nd, … poll: doubling from 2 s to a 10-minute ceiling. A poll
# that errors waits the same as one answered "processing".
POLL_FIRST = timedelta(seconds=2)
POLL_CEILING = timedelta(minutes=10)
# About a day of polling (17 minutes to reach the ceiling, then every 10 minutes); after
# that the document fails as `agency_timeout` and waits for a person.
MAX_POLLS = 150
# How long a document whose DTE cannot be built yet waits before it is tried again.
HELD_BACK_WAIT = timedelta(minutes=10)
JITTER = 0.1  # ± this share of each wait, so documents finalized together spread out
DEFAULT_LEASE_SECONDS = 120  # longer than any backend's own timeout


def lease() -> timedelta:
    return timedelta(seconds=settings.TAX_AGENCY_LEASE_SECONDS)


def _jittered(wait: timedelta) -> timedelta:
    return wait * (1 + random.uniform(-JITTER, JITTER))


def submit_retry_delay(attempt: int) -> timedelta | None:
    """The wait after failed submission number `attempt`, or None when retries are spent."""
    if attempt > len(SUBMIT_RETRY_SCHEDULE):
        return None
    return _jittered(SUBMIT_RETRY_SCHEDULE[attempt - 1])


def poll_delay(polls: int) -> timedelta:
    """The wait before the next poll, after `polls` polls."""
    return _jittered(min(POLL_FIRST * 2**polls, POLL_CEILING))


def document_model(document_id: str) -> type[FiscalDocument]:
    prefix = document_id.partition("_")[0]
    try:
        return FILED_DOCUMENTS[prefix].model
    except KeyError:
        raise LookupError(f"{document_id} is not a fiscal document") from None


# -- The document as the agency receives it ------------------------------------------


def _decimal_text(value: Any) -> str:
    return format(value.normalize(), "f")


def _references(document: FiscalDocument) -> list[TaxDocumentReference]:
    references: list[TaxDocumentReference] = [
        {
            "document": str(row.get("document") or ""),
            "serial": str(row.get("serial") or ""),
            "date": str(row.get("date") or ""),
            "code": row.get("code"),
            "description": str(row.get("description") or ""),
        }
        for row in document.references
    ]
    if isinstance(document, CreditNote | DebitNote) and document.invoice.number is not None:
        # A note always references the invoice it modifies, whether or not the caller did.
        invoice = document.invoice
        serial = str(invoice.number)
        named = any(
            r["document"] == invoice.document.code and r["serial"] == serial for r in references
        )
        if not named:
            references.insert(
                0,
                {
                    "document": invoice.document.code,
                    "serial": serial,
                    "date": invoice.date.isoformat(),
                    "code": document.reason,
                    "description": document.description,
                },
            )
    return references


def _filed_line(
    document: FiscalDocument, line: Any, money: Callable[[Any], str]
) -> TaxDocumentLine:
    filed: TaxDocumentLine = {
        "name": line.name,
        "quantity": _decimal_text(line.quantity),
        "amount": _decimal_text(line.amount),
        "total": money(line.total),
        "exempt": line.exempt,
        "tax_percent": _decimal_text(line_tax_percent(document, line)),
    }
    if line.additional_tax:
        filed["additional_tax"] = line.additional_tax
        filed["additional_tax_percent"] = _decimal_text(line.additional_tax_percent)
    return filed


def tax_document(document: FiscalDocument) -> TaxDocument:
    """What the agency receives: the finalized document as a plain dict."""
    currency = document.currency_id
    kind = _kind(type(document))
    # The other party: the customer of a sale, the supplier of a purchase.
    counterpart = document_counterpart(document)

    def money(value: Any) -> str:
        return str(round_amount(value, currency))

    filed: TaxDocument = {
        "key": document.pk,
        "country": document.workspace.country_id,
        "test_mode": document.test_mode,
        "issuer_tax_id": document.workspace.tax_id,
        "customer_tax_id": counterpart.tax_id,
        "customer_country": counterpart.country_id,
        "document_type": document.document.code,
        "folio": document.number,
        "date": document.date.isoformat(),
        "currency": currency,
        "lines": [
            _filed_line(document, line, money)
            for line in document.lines.all()  # type: ignore[attr-defined]
        ],
        "totals": {
            "discount": money(document.discount_amount),
            "amount": money(document.amount),
            "exempt": money(document.exempt),
            "tax": money(document.tax),
            "total": money(document.total),
        },
        "references": _references(document),
        "prices_include_tax": document.prices_include_tax,
    }
    if document.additional_tax:
        filed["totals"]["additional_tax"] = money(document.additional_tax)
    if document.withholds_tax:
        filed["withholds_tax"] = True
    xml = dte_for_filing(document)
    if xml is not None:
        filed["xml"] = xml
    return kind.extend(document, filed) if kind.extend else filed


# -- Claim, call, record ---------------------------------------------------------------


SUBMIT = "submit"
POLL = "poll"


@dataclass(frozen=True)
class AgencyCall:
    """A claimed document and what to ask the agency about it."""

    document_id: str
    stage: str  # SUBMIT or POLL
    attempt: int  # biller_attempts after the claim: who holds the lease
    country: str
    # What time the agency is told it is: the document's tenant clock, so a test-clock
    # invoice is not judged by the real date (scheduling stays on the real clock).
    agency_now: datetime
    document: TaxDocument | None = None  # for SUBMIT
    tracking_id: str = ""  # for POLL


@dataclass(frozen=True)
class AgencyAnswer:
    tracking_id: str = ""  # after a submit
    poll: PollResult | None = None  # after a poll
    error: str = ""  # the agency could not be reached or failed


def _is_due(document: FiscalDocument, now: datetime) -> bool:
    due_at = document.biller_next_attempt_at
    return document.biller_status in OPEN_STATUSES and (due_at is None or due_at <= now)


@transaction.atomic
def tax_agency_start(*, document_id: str, now: datetime) -> AgencyCall | None:
    """Claim a due document for one submit or poll, or None if it is not this caller's
    (not due, or finished: another worker's claim pushes the next attempt past now)."""
    relax_commit_durability()  # a lost claim only lets the attempt be made again
    model = document_model(document_id)
    # Wait for the row rather than skip it when locked: the lock may be any short write
    # to the document (its PDF stored, a payment), and a skipped message would leave the
    # sweep's mark on it, so nothing would queue it again before the mark's lease lapsed.
    # Only the document row is locked (`of`), not the joined workspace. The counterpart is
    # not joined: a finalized document files the one frozen on it.
    document = (
        model._default_manager.select_for_update(of=("self",))
        .select_related("workspace", "document")
        .filter(pk=document_id)
        .first()
    )
    if document is None or not _is_due(document, now):
        return None
    stage = POLL if document.biller_status == BillerStatus.PROCESSING else SUBMIT
    filed = None
    if stage == SUBMIT:
        try:
            filed = tax_document(document)
        except DomainError as error:
            _hold_back(document, error, now)
            return None
        document.biller_status = BillerStatus.QUEUED
    document.biller_attempts += 1
    document.biller_next_attempt_at = now + lease()
    document.biller_enqueued_at = None  # taken up: a later sweep may queue its next poll
    document.save(
        update_fields=[
            "biller_status",
            "biller_attempts",
            "biller_next_attempt_at",
            "biller_enqueued_at",
            "updated_at",
        ]
    )
    return AgencyCall(
        document_id=document.pk,
        stage=stage,
        attempt=document.biller_attempts,
        country=document.workspace.country_id,
        agency_now=tenant_time(
            workspace=document.workspace, test_mode=document.test_mode, real=now
        ),
        document=filed,
        tracking_id=document.tax_agency_tracking_id,
    )


def _hold_back(document: FiscalDocument, error: DomainError, now: datetime) -> None:
    """A document whose DTE cannot be built yet (the workspace lacks issuer data the SII's
    schema requires, or a certificate) is not sent: it stays pending, says why, and is
    tried again after HELD_BACK_WAIT, by when the workspace may have been completed."""
    last_error = {
        "stage": SUBMIT,
        "at": now.isoformat(),
        "code": error.code,
        "message": error.detail,
    }
    document.tax_agency = {**document.tax_agency, "last_error": last_error}
    document.biller_next_attempt_at = now + HELD_BACK_WAIT
    document.biller_enqueued_at = None
    document.save(
        update_fields=["tax_agency", "biller_next_attempt_at", "biller_enqueued_at", "updated_at"]
    )


def _ask_agency(call: AgencyCall) -> AgencyAnswer:
    agency = agency_for_country(call.country)
    try:
        if call.stage == SUBMIT:
            assert call.document is not None
            tracking_id = agency.submit(call.document, now=call.agency_now)
            if not tracking_id:
                raise TaxAgencyError("The agency answered without a tracking id.")
            return AgencyAnswer(tracking_id=tracking_id)
        return AgencyAnswer(poll=agency.poll(call.tracking_id, now=call.agency_now))
    except Exception as exc:  # whatever went wrong at the agency, it is retried later
        logger.warning("tax agency %s of %s failed: %r", call.stage, call.document_id, exc)
        return AgencyAnswer(error=f"{type(exc).__name__}: {exc}"[:500])


def _record_event(document: FiscalDocument, verb: str) -> None:
    kind = _kind(type(document))
    event_record(
        workspace=document.workspace,
        test_mode=document.test_mode,
        type=f"{kind.event_object}.{verb}",
        object_id=document.pk,
        data=kind.snapshot(document),
    )


def _finish(
    document: FiscalDocument, status: BillerStatus, tax_agency: dict[str, Any], now: datetime
) -> None:
    document.biller_status = status
    document.biller_next_attempt_at = None
    document.tax_agency = tax_agency
    document.save()
    verb = "tax_agency_succeeded" if status == BillerStatus.SUCCEEDED else "tax_agency_failed"
    _record_event(document, verb)
    if status == BillerStatus.FAILED:
        for hook in settings.TAX_AGENCY_FAILURE_HOOKS:
            import_string(hook)(document=document, now=now)


def _failure(code: str, message: str) -> list[dict[str, str]]:
    return [{"code": code, "field": "", "message": message}]


def _after_submit(document: FiscalDocument, tracking_id: str, now: datetime) -> datetime:
    document.biller_status = BillerStatus.PROCESSING
    document.tax_agency_tracking_id = tracking_id
    document.tax_agency = {
        "tracking_id": tracking_id,
        "status": "processing",
        "submitted_at": now.isoformat(),
    }
    document.biller_attempts = 0
    document.biller_next_attempt_at = next_attempt_at = now + poll_delay(0)
    document.save()
    return next_attempt_at


def _after_poll(document: FiscalDocument, result: PollResult, now: datetime) -> datetime | None:
    summary = {
        "tracking_id": document.tax_agency_tracking_id,
        "submitted_at": document.tax_agency.get("submitted_at"),
        "status": result.status,
        "response": result.response,
    }
    if result.status == "accepted":
        _finish(document, BillerStatus.SUCCEEDED, {**summary, "accepted_at": now.isoformat()}, now)
        return None
    if result.status == "rejected":
        reasons = result.response.get("reasons") or _failure(
            "rejected", "The tax agency rejected the document without giving a reason."
        )
        _finish(
            document,
            BillerStatus.FAILED,
            {**summary, "rejected_at": now.isoformat(), "reasons": reasons},
            now,
        )
        return None
    document.tax_agency = {**summary, "polled_at": now.isoformat()}
    return _poll_again(document, now)


def _poll_again(document: FiscalDocument, now: datetime) -> datetime | None:
    if document.biller_attempts >= MAX_POLLS:
        _finish(
            document,
            BillerStatus.FAILED,
            {
                **document.tax_agency,
                "status": "timeout",
                "reasons": _failure(
                    "agency_timeout",
                    f"The tax agency had not decided after {document.biller_attempts} polls. "
                    "Check the submission at the agency, then retry it.",
                ),
            },
            now,
        )
        return None
    document.biller_next_attempt_at = next_attempt_at = now + poll_delay(document.biller_attempts)
    document.save()
    return next_attempt_at


def _after_error(
    document: FiscalDocument, call: AgencyCall, error: str, now: datetime
) -> datetime | None:
    last_error = {
        "stage": call.stage,
        "attempt": call.attempt,
        "at": now.isoformat(),
        "message": error,
    }
    document.tax_agency = {**document.tax_agency, "last_error": last_error}
    if call.stage == POLL:
        return _poll_again(document, now)
    delay = submit_retry_delay(call.attempt)
    if delay is None:
        _finish(
            document,
            BillerStatus.FAILED,
            {
                **document.tax_agency,
                "status": "unreachable",
                "reasons": _failure(
                    "agency_unreachable",
                    f"The tax agency could not be reached after {call.attempt} attempts "
                    f"(last: {error}).",
                ),
            },
            now,
        )
        return None
    document.biller_next_attempt_at = next_attempt_at = now + delay
    document.save()
    return next_attempt_at


@transaction.atomic
def tax_agency_finish(*, call: AgencyCall, answer: AgencyAnswer, now: datetime) -> datetime | None:
    """Record the agency's answer; return when to come back, or None when done (or when a
    later claim took over, whose answer is the one kept)."""
    model = document_model(call.document_id)
    document = (
        model._default_manager.select_for_update(of=("self",))
        .select_related("workspace")
        .get(pk=call.document_id)
    )
    expected = BillerStatus.PROCESSING if call.stage == POLL else BillerStatus.QUEUED
    if document.biller_status != expected or document.biller_attempts != call.attempt:
        return None
    if answer.error:
        return _after_error(document, call, answer.error, now)
    if call.stage == SUBMIT:
        return _after_submit(document, answer.tracking_id, now)
    assert answer.poll is not None
    return _after_poll(document, answer.poll, now)


def tax_agency_attempt(*, document_id: str, clock: Callable[[], datetime]) -> datetime | None:
    """One submit or poll of a document: claim, call the agency (holding no lock), record.

    Returns when the document is due again, or None (finished, or not this caller's).
    `clock` is read for each step because the call may take a while.
    """
    call = tax_agency_start(document_id=document_id, now=clock())
    if call is None:
        return None
    answer = _ask_agency(call)
    return tax_agency_finish(call=call, answer=answer, now=clock())


def tax_agency_due(*, now: datetime, limit: int = 500) -> list[str]:
    """Documents to submit or poll now, including claims whose lease lapsed (a worker died);
    at most `limit` of each kind of document, longest waiting first."""
    due = Q(biller_status__in=OPEN_STATUSES) & (
        Q(biller_next_attempt_at__isnull=True) | Q(biller_next_attempt_at__lte=now)
    )
    document_ids: list[str] = []
    for kind in FILED_DOCUMENTS.values():
        with transaction.atomic():
            document_ids += claim_for_enqueue(
                kind.model._default_manager.filter(due),
                now=now,
                limit=limit,
                order_by=(F("biller_next_attempt_at").asc(nulls_first=True), "finalized_at", "pk"),
                field="biller_enqueued_at",
            )
    return document_ids


@transaction.atomic
def document_retry_submission(*, document: FiscalDocument, now: datetime) -> FiscalDocument:
    """Send a failed document to the agency again, unchanged, with its folio (one the agency
    rejected was not spent: rules.md §5), and record `<object>.tax_agency_retried`.

    For failures whose cause was outside the document (the customer's registration, an
    outage, the workspace's issuer data the DTE is built from). A wrong document is never
    edited: it is corrected with a credit note and a new document.
    """
    document = type(document)._default_manager.select_for_update().get(pk=document.pk)
    if document.biller_status != BillerStatus.FAILED:
        raise DomainError(
            "tax_agency_not_failed",
            f"{document.pk}'s submission is {document.biller_status or 'not started'}; "
            "only a failed submission can be retried.",
        )
    previous = {key: value for key, value in document.tax_agency.items() if key != "previous"}
    document.biller_status = BillerStatus.PENDING
    document.biller_attempts = 0
    document.biller_next_attempt_at = now
    document.tax_agency_tracking_id = ""
    document.tax_agency = {"status": "pending", "retried_at": now.isoformat(), "previous": previous}
    document.save()
    _record_event(document, "tax_agency_retried")
    tax_agency_schedule(document.pk)
    return document


def tax_agency_schedule(document_id: str) -> None:
    """Queue the document's next submit or poll for when the transaction commits."""

    def enqueue() -> None:
        task_queue_or_leave(
            "invoices.tasks.process_tax_agency_document", kwargs={"document_id": document_id}
        )

    transaction.on_commit(enqueue)
