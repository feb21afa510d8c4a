"""A worker killed mid-way through a batch of PDF renders: once restarted, every
finalized invoice has its PDF stored, and each file is a whole PDF (G12)."""

from pathlib import Path

import pytest
from django.utils import timezone

from invoices.models import Invoice
from invoices.services.invoices import invoice_finalize
from invoices.tasks import render_missing_pdfs
from invoices.tests.pdf_helpers import make_customer, make_draft, make_issuer
from tests.faults.helpers import sweeping, wait_until, worker_env
from tests.workers import running_worker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

INVOICES = 12


def test_pdf_renders_survive_a_worker_killed_mid_way(broker, tenant, tmp_path, settings, figures):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.EVENT_PUBLISHERS = []  # the finalizes' events are not this test's business
    workspace = make_issuer(tenant.workspace)
    customer = make_customer(workspace)
    # Finalized with no worker running: their renders wait on the broker.
    for _ in range(INVOICES):
        invoice_finalize(invoice=make_draft(workspace, customer), now=timezone.now())
    invoices = Invoice.objects.filter(workspace=workspace, finalized_at__isnull=False)
    stored = invoices.exclude(pdf="")
    env = worker_env(media)

    with running_worker(tmp_path, extra_env=env, concurrency=2) as worker:
        wait_until(lambda: stored.count() >= INVOICES // 3, timeout=120, what="a third stored")
        worker.kill()
    at_kill = stored.count()

    with (
        running_worker(tmp_path, extra_env=env, concurrency=2),
        sweeping([render_missing_pdfs], every=1.0),
    ):
        recovery = wait_until(
            lambda: stored.count() == INVOICES, timeout=120, what="every PDF", every=0.5
        )

    paths = [Path(media, name) for name in stored.values_list("pdf", flat=True)]
    whole = [p for p in paths if p.is_file() and p.read_bytes().startswith(b"%PDF")]
    on_disk = list(media.rglob("*.pdf"))
    figures(
        tries=INVOICES,
        held=len(whole),
        lost=INVOICES - len(whole),
        files_on_disk=len(on_disk),
        stored_at_kill=at_kill,
        recovery_seconds=round(recovery, 1),
    )
    assert at_kill < INVOICES, "the kill came after every render"
    assert len(whole) == INVOICES
    assert sorted(on_disk) == sorted(paths)  # no stray copies from the killed renders
