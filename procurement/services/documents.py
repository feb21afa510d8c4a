"""What purchases, purchase credit notes and retentions share: drafts priced by the same
code as invoices (billing.documents → billing.totals), numbers and the finalize step."""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from billing.documents import LINE_FIELDS, apply_totals, build_lines, store_lines
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, Line, Workspace
from billing.services.events import event_record
from billing.services.numbering import number_skip_past, number_take
from invoices.pdf.storage import document_pdf_schedule
from invoices.services.filing import tax_agency_schedule
from procurement.choices import PROCUREMENT_TRANSITIONS, ProcurementStatus
from procurement.models import Supplier, SupplierDocument


def check_type_country(workspace: Workspace, document_type: DocumentType) -> None:
    if not document_type.is_electronic:
        raise InvalidInput({"document": [f"{document_type} is a paper document type."]})
    if document_type.country_id != workspace.country_id:
        raise InvalidInput(
            {"document": [f"{document_type} belongs to {document_type.country_id}, "
                          f"the workspace to {workspace.country_id}."]}
        )  # fmt: skip


def check_supplier(workspace: Workspace, test_mode: bool, supplier: Supplier) -> None:
    if supplier.workspace_id != workspace.pk or supplier.test_mode != test_mode:
        raise InvalidInput({"supplier": ["No such supplier."]})


def settle_number(document: SupplierDocument, *, imported: bool = False) -> None:
    """Our own documents take the next of our sequence at finalize; the supplier's carry
    their folio. An imported one of our own (a 46 issued before this workspace) brings the
    folio it was issued with, and our sequence moves past it: the next of ours never
    collides with it."""
    if document.number == 0:
        document.number = None
    if document.self_issued and not imported:
        if document.number is not None:
            raise InvalidInput(
                {"number": [f"A {document.document.code} is numbered by this workspace's own "
                            "sequence at finalize: send 0 or no number."]}
            )  # fmt: skip
    elif document.number is None:
        whose = "folio it was issued with" if document.self_issued else "supplier's folio"
        raise InvalidInput({"number": [f"The {whose} (greater than 0) is required."]})
    elif document.self_issued:
        number_skip_past(
            workspace=document.workspace,
            test_mode=document.test_mode,
            document_type=document.document,
            number=document.number,
        )


def lock_draft(document: SupplierDocument, name: str) -> Any:
    locked = (
        type(document)
        ._default_manager.select_for_update(of=("self",))
        .select_related("document", "supplier", "workspace")
        .get(pk=document.pk)
    )
    if locked.status != ProcurementStatus.DRAFT:
        raise DomainError(
            f"{name}_not_draft",
            f"{locked.pk} is {locked.status}; only drafts can change.",
        )
    return locked


def save_unique(document: SupplierDocument) -> None:
    """Save with its issuer's tax id; a folio its issuer already used for this type (under
    this supplier row or another with the same tax id) is a 400 on `number`."""
    document.supplier_tax_id = document.supplier.tax_id
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError as exc:
        issuer = document.supplier_tax_id or f"supplier {document.supplier_id}"
        raise InvalidInput(
            {"number": [f"Folio {document.number} of type {document.document.code} is already "
                        f"recorded for {issuer}."]}
        ) from exc  # fmt: skip


def save_with_lines(
    document: SupplierDocument,
    line_model: type[Line],
    parent: str,
    rows: Sequence[Mapping[str, Any]] | None,
    prepare: Callable[[list[Any]], None] | None = None,
) -> None:
    """Price the lines with the invoices' own code and store the draft; `rows` None keeps
    the stored lines. `prepare` sets what the document imposes on every line."""
    lines: list[Any]
    if rows is None and prepare is not None:
        # What `prepare` imposes is not among the columns store_lines updates: rewrite.
        stored = line_model._default_manager.filter(**{parent: document})
        rows = [{name: getattr(line, name) for name in LINE_FIELDS} for line in stored]
    if rows is None:
        lines = list(line_model._default_manager.filter(**{parent: document}))
    else:
        lines = build_lines(line_model, {parent: document}, rows)
    if prepare is not None:
        prepare(lines)
    apply_totals(document, lines)
    save_unique(document)
    related = getattr(document, "lines")  # noqa: B009  # every kind names its lines `lines`
    store_lines(line_model, lines, replace=None if rows is None else related)


def finalize(
    document: SupplierDocument,
    *,
    name: str,
    line_model: type[Line],
    now: datetime,
    snapshot: Callable[[Any], dict[str, Any]],
    imported: bool = False,
    prepare: Callable[[list[Any]], None] | None = None,
) -> None:
    """Freeze a locked draft: totals, number, event; on commit its PDF and its filing.

    The number comes from a locked counter in this transaction, so a rollback gives it
    back and our own numbers stay gapless (rules.md §4).
    """
    if (document.status, ProcurementStatus.FINALIZED) not in PROCUREMENT_TRANSITIONS:
        raise DomainError(
            f"{name}_invalid_transition",
            f"{document.pk} is {document.status} and cannot be finalized.",
        )
    lines = list(getattr(document, "lines").all())  # noqa: B009
    if not lines:
        raise DomainError(f"{name}_without_lines", "A document needs at least one line.")
    if prepare is not None:
        prepare(lines)
    apply_totals(document, lines)
    store_lines(line_model, lines)
    if prepare is not None:
        line_model._default_manager.bulk_update(lines, ["retention_percent"])
    settle_number(document, imported=imported)
    if document.number is None:
        document.number = number_take(
            workspace=document.workspace,
            test_mode=document.test_mode,
            document_type=document.document,
            now=now,
        )
    document.status = ProcurementStatus.FINALIZED
    # An imported document was filed with the agency elsewhere: recorded as reported.
    document.mark_finalized(now, imported=imported)
    if imported:
        document.tax_agency = {"status": "imported", "imported_at": now.isoformat()}
    save_unique(document)
    event_record(
        workspace=document.workspace,
        test_mode=document.test_mode,
        type=f"{name}.finalized",
        object_id=document.pk,
        data=snapshot(document),
    )
    document_pdf_schedule(document)
    if not imported:
        tax_agency_schedule(document.pk)
