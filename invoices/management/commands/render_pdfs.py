from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from billing.clock import real_now
from billing.models import Workspace
from billing.progress import ProgressCommand
from invoices.pdf.storage import document_pdf_store, documents_pdf_missing


class Command(ProgressCommand):
    help = (
        "Render and store the PDF of every finalized document that has none yet (invoices, "
        "notes and the procurement documents), as beat's sweep does but at once and "
        "without waiting for a worker. A document rendered meanwhile by a worker is left "
        "as that worker stored it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--workspace", help="only this workspace's documents (acc_…)")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = None
        if options["workspace"]:
            workspace = Workspace.objects.filter(pk=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace {options['workspace']}.")
        missing = documents_pdf_missing(
            now=real_now(), older_than=timedelta(0), limit=None, workspace=workspace
        )
        bar = self.progress(label="Rendering", total=len(missing), unit="PDFs", options=options)
        stored = 0
        failed: list[str] = []
        for model_label, document_id in missing:
            try:
                stored += document_pdf_store(model_label=model_label, document_id=document_id)
            except Exception as exc:  # one broken document must not stop the backfill
                failed.append(f"{document_id}: {type(exc).__name__}: {exc}")
            bar.update(1)
        bar.close()
        self.stdout.write(
            f"Stored {stored} PDF(s) of {len(missing)} document(s) without one"
            f"{f'; {len(failed)} failed' if failed else ''}."
        )
        if failed:
            for line in failed:
                self.stderr.write(line)
            raise CommandError(f"{len(failed)} PDF(s) could not be rendered.")
