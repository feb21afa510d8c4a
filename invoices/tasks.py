"""Thin tasks: each makes one domain call. All are safe to run twice, and ignore keyword
arguments they do not know (a message from an older or newer release during a deploy)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from invoices.pdf import storage
from invoices.services import filing

# Waits further away than this are left to the beat sweep instead of a countdown, so no
# message sits on the broker for long (Redis would hand it out again meanwhile).
_COUNTDOWN_LIMIT_SECONDS = 300


@shared_task
def process_tax_agency_queue(**_: object) -> int:
    """Beat: fan out every document due for a submit or a poll."""
    due = filing.tax_agency_due(now=timezone.now())
    for document_id in due:
        process_tax_agency_document.delay(document_id=document_id)
    return len(due)


@shared_task
def process_tax_agency_document(document_id: str, **_: object) -> None:
    """One submit or poll; a duplicate message finds the document claimed or not due."""
    next_attempt_at = filing.tax_agency_attempt(document_id=document_id, clock=timezone.now)
    if next_attempt_at is None:
        return
    wait = (next_attempt_at - timezone.now()).total_seconds()
    if wait <= _COUNTDOWN_LIMIT_SECONDS:
        process_tax_agency_document.apply_async(
            kwargs={"document_id": document_id}, countdown=max(wait, 0)
        )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def render_document_pdf(model_label: str, document_id: str, **_: object) -> bool:
    return storage.document_pdf_store(model_label=model_label, document_id=document_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def render_document_pdfs(model_label: str, document_ids: list[str], **_: object) -> int:
    """Many documents' PDFs; those already stored (a redelivered task) are skipped."""
    return sum(
        storage.document_pdf_store(model_label=model_label, document_id=document_id)
        for document_id in document_ids
    )


@shared_task
def render_missing_pdfs(**_: object) -> int:
    grace = timedelta(seconds=settings.PDF_RENDER_GRACE_SECONDS)
    missing = storage.documents_pdf_claim_missing(now=timezone.now(), older_than=grace)
    for model_label, document_id in missing:
        render_document_pdf.delay(model_label=model_label, document_id=document_id)
    return len(missing)
