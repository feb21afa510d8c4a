"""Stored PDFs: a finalized document's PDF is rendered once, stored, and handed out by
signed links that expire; a draft's is a preview, never stored. Renders are queued on
commit and swept by beat when a queued render was lost."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse

from billing.links import public_url
from billing.models import FiscalDocument, Workspace
from billing.queueing import task_queue_or_leave
from billing.sweeps import claim_for_enqueue
from invoices.pdf.context import PDF_DOCUMENTS
from invoices.pdf.render import document_pdf_render

_SIGNING_SALT = "invoices.document-file"


def _model(model_label: str) -> type[FiscalDocument]:
    model = apps.get_model(model_label)
    if model not in PDF_DOCUMENTS:
        raise LookupError(f"{model_label} is not a fiscal document")
    return model


def _load(model: type[FiscalDocument], document_id: str) -> FiscalDocument:
    kind = PDF_DOCUMENTS[model]
    party = model.counterpart_field
    related = [
        "workspace__country",
        "workspace__comuna",
        f"{party}__country",
        f"{party}__state",
        f"{party}__comuna",
        "document",
    ]
    return model._default_manager.select_related(*related, *kind.related).get(pk=document_id)


def document_pdf_store(*, model_label: str, document_id: str) -> bool:
    """Render and store a finalized document's PDF unless one is stored. True if stored now.

    No lock is held while rendering: the file is written under a fresh name, and only the
    first render to set the empty field keeps its file; a concurrent loser removes its own.
    """
    model = _model(model_label)
    document = _load(model, document_id)
    if document.pdf or document.finalized_at is None:
        return False
    content = document_pdf_render(document)
    field = document.pdf
    name = field.field.generate_filename(document, f"{document.pk}.pdf")
    name = field.storage.save(name, ContentFile(content), max_length=field.field.max_length)
    stored = model._default_manager.filter(pk=document.pk, pdf="").update(pdf=name)
    if not stored:
        field.storage.delete(name)
        return False
    return True


def document_pdf(*, document: FiscalDocument) -> bytes:
    """The stored PDF of a finalized document (stored now if the task has not run yet),
    or a fresh preview of a draft, never stored."""
    if document.finalized_at is None:
        return document_pdf_render(_load(type(document), document.pk))
    if not document.pdf:
        document_pdf_store(model_label=document._meta.label, document_id=document.pk)
        document.refresh_from_db(fields=["pdf"])
    document_pdf_restore(document=document)
    with document.pdf.open("rb") as stored:
        return stored.read()


def document_pdf_restore(*, document: FiscalDocument) -> None:
    """Render a stored PDF again, under its name, when its file is gone: written by a
    worker whose storage the web process does not share, or lost. A missing file must not
    make the document's PDF unreadable."""
    field = document.pdf
    if not field.name or field.storage.exists(field.name):
        return
    content = document_pdf_render(_load(type(document), document.pk))
    saved = field.storage.save(field.name, ContentFile(content), max_length=field.field.max_length)
    if saved != field.name:  # a concurrent restore wrote it first: keep that one
        field.storage.delete(saved)


def document_pdf_schedule(document: FiscalDocument) -> None:
    """Queue the PDF's render for when the finalizing transaction commits.

    A broker outage is logged, not raised: the finalize has committed, and the
    beat sweep (`documents_pdf_missing`) or the first read of the PDF renders it later.
    """
    label, document_id = document._meta.label, document.pk

    def queue() -> None:
        task_queue_or_leave(
            "invoices.tasks.render_document_pdf",
            kwargs={"model_label": label, "document_id": document_id},
        )

    transaction.on_commit(queue)


# Documents per render task when many are finalized at once: a task stays short enough to
# retry cheaply, and a billing cycle of thousands queues a few hundred messages, not thousands.
PDF_RENDER_CHUNK = 50


def documents_pdf_schedule(*, model_label: str, document_ids: Sequence[str]) -> None:
    """Queue the PDFs of many documents finalized together, for when the transaction
    commits; like `document_pdf_schedule`, a broker outage is left to the sweep."""
    chunks = [
        list(document_ids[i : i + PDF_RENDER_CHUNK])
        for i in range(0, len(document_ids), PDF_RENDER_CHUNK)
    ]

    def queue() -> None:
        for chunk in chunks:
            if not task_queue_or_leave(
                "invoices.tasks.render_document_pdfs",
                kwargs={"model_label": model_label, "document_ids": chunk},
            ):
                return  # the broker is down: the sweep renders the rest too

    if chunks:
        transaction.on_commit(queue)


def _pdf_missing(
    model: type[FiscalDocument], now: datetime, older_than: timedelta, workspace: Workspace | None
) -> QuerySet[FiscalDocument]:
    """Finalized documents of `model` with no PDF, queued longer than `older_than` ago.

    `now` is the real time. `finalized_at` is the tenant's time, which a test clock may
    put months ahead of it, so the row's last write (`updated_at`, always real time) finds
    those too.
    """
    cutoff = now - older_than
    documents = model._default_manager.filter(pdf="", finalized_at__isnull=False).filter(
        Q(finalized_at__lte=cutoff) | Q(updated_at__lte=cutoff)
    )
    return documents if workspace is None else documents.filter(workspace=workspace)


def documents_pdf_missing(
    *,
    now: datetime,
    older_than: timedelta,
    limit: int | None = 200,
    workspace: Workspace | None = None,
) -> list[tuple[str, str]]:
    """(model label, id) of finalized documents whose render was lost (queued long ago),
    at most `limit` of each kind (all for None), of every workspace or the one named."""
    missing: list[tuple[str, str]] = []
    for model in PDF_DOCUMENTS:
        documents = _pdf_missing(model, now, older_than, workspace)
        ids = documents.order_by("pk").values_list("pk", flat=True)[:limit]
        missing += [(model._meta.label, document_id) for document_id in ids]
    return missing


def documents_pdf_claim_missing(
    *, now: datetime, older_than: timedelta, limit: int = 200
) -> list[tuple[str, str]]:
    """For the beat sweep: `documents_pdf_missing`, marked as queued, without those the
    sweep already queued (billing.sweeps). A render stores the PDF, so its document is
    no longer missing; a mark older than the lease was lost with its message, and the
    document is queued again."""
    claimed: list[tuple[str, str]] = []
    for model in PDF_DOCUMENTS:
        with transaction.atomic():
            ids = claim_for_enqueue(
                _pdf_missing(model, now, older_than, None), now=now, limit=limit,
                order_by=("pk",), field="pdf_enqueued_at",
            )  # fmt: skip
        claimed += [(model._meta.label, document_id) for document_id in ids]
    return claimed


# --- Signed links --------------------------------------------------------------------


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SIGNING_SALT)


def document_file_token(document: FiscalDocument) -> str:
    return _signer().sign_object([document._meta.label, document.pk])


def document_file_url(document: FiscalDocument) -> str | None:
    """A link to the stored PDF that works without a token until it expires; None
    while no PDF is stored."""
    if not document.pdf:
        return None
    path = reverse("document-file", kwargs={"token": document_file_token(document)})
    return public_url(path)


def document_from_token(token: str) -> FiscalDocument | None:
    """The document a valid, unexpired link names, if its PDF is stored; else None."""
    try:
        label, document_id = _signer().unsign_object(
            token, max_age=settings.DOCUMENT_LINK_MAX_AGE_SECONDS
        )
        model = _model(label)
    except (signing.BadSignature, LookupError, TypeError, ValueError):
        return None
    document = model._default_manager.select_related("document").filter(pk=document_id).first()
    if document is None or not document.pdf:
        return None
    document_pdf_restore(document=document)
    return document
