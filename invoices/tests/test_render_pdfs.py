"""`manage.py render_pdfs`: stores the PDF of every finalized document that has none
(a render lost with its worker), of one workspace or all, and reports what it did."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from invoices.models import Invoice
from invoices.pdf.storage import document_pdf_store
from invoices.services.invoices import invoice_finalize
from invoices.tests.pdf_helpers import NOW, make_draft, make_issuer
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _finalized_without_pdf(workspace) -> Invoice:  # type: ignore[no-untyped-def]
    # Outside a request's commit the queued render never runs: the PDF is missing.
    return invoice_finalize(invoice=make_draft(workspace), now=NOW)


def test_stores_the_missing_pdfs_of_the_workspace_named_and_no_other() -> None:
    workspace = make_issuer(make_tenant().workspace)
    missing = [_finalized_without_pdf(workspace) for _ in range(2)]
    stored = _finalized_without_pdf(workspace)
    document_pdf_store(model_label="invoices.Invoice", document_id=stored.id)
    stored.refresh_from_db()
    elsewhere = _finalized_without_pdf(make_issuer(make_tenant().workspace))
    out, terminal = io.StringIO(), Terminal()

    call_command("render_pdfs", "--workspace", workspace.id, stdout=out, stderr=terminal)

    assert "Stored 2 PDF(s) of 2 document(s) without one." in out.getvalue()
    assert "2/2 PDFs" in terminal.getvalue()
    for invoice in missing:
        invoice.refresh_from_db()
        assert Path(invoice.pdf.path).read_bytes()[:5] == b"%PDF-"
    assert Invoice.objects.get(pk=stored.pk).pdf.name == stored.pdf.name  # left as it was
    assert not Invoice.objects.get(pk=elsewhere.pk).pdf


def test_a_second_run_has_nothing_to_do_and_draws_no_bar_when_asked_not_to() -> None:
    workspace = make_issuer(make_tenant().workspace)
    _finalized_without_pdf(workspace)
    call_command("render_pdfs", stdout=io.StringIO(), stderr=io.StringIO())
    out, terminal = io.StringIO(), Terminal()

    call_command("render_pdfs", "--no-progress", stdout=out, stderr=terminal)

    assert "Stored 0 PDF(s) of 0 document(s) without one." in out.getvalue()
    assert terminal.getvalue() == ""


def test_a_document_that_cannot_be_rendered_is_reported_and_the_others_are_stored(
    monkeypatch,
) -> None:
    workspace = make_issuer(make_tenant().workspace)
    broken, fine = _finalized_without_pdf(workspace), _finalized_without_pdf(workspace)
    real_render = document_pdf_store

    def render(*, model_label: str, document_id: str) -> bool:
        if document_id == broken.id:
            raise OSError("No space left on device")
        return real_render(model_label=model_label, document_id=document_id)

    monkeypatch.setattr("invoices.management.commands.render_pdfs.document_pdf_store", render)
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 PDF"):
        call_command("render_pdfs", stdout=out, stderr=err)

    assert "Stored 1 PDF(s) of 2 document(s) without one; 1 failed." in out.getvalue()
    assert f"{broken.id}: OSError: No space left on device" in err.getvalue()
    assert Invoice.objects.get(pk=fine.pk).pdf
