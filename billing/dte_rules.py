"""What the SII's schemas require of a DTE that a document's records may lack, checked
while it can still be put right: its lines whenever it is written (a folio is never taken
for a document its DTE cannot hold), its receiver when finalize freezes it, and its issuer,
the workspace as it is now, whenever its DTE is built (invoices.dte lays the DTE out).
"""

from collections.abc import Iterable
from typing import Any

from billing.errors import DomainError, InvalidInput

# The most lines a DTE of each of Chile's types holds: Detalle's maxOccurs in the SII's
# schemas, 60 in DTE_v10.xsd (facturas, notes, facturas de compra, exports) and 1000 in the
# boleta's (EnvioBOLETA_v11.xsd).
DTE_LINE_LIMITS = {
    "33": 60, "34": 60, "46": 60, "56": 60, "61": 60, "110": 60, "111": 60, "112": 60,
    "39": 1000, "41": 1000,
}  # fmt: skip
# Boletas go to final consumers, who need not identify themselves: their DTE names the
# SII's anonymous RUT for them, where every other DTE names its Chilean receiver's RUT. The
# boleta's schema has no Acteco and an optional giro, which DTE_v10.xsd requires (GiroEmis
# of at least one character).
BOLETA_TYPES = {"39", "41"}
# The debit and credit notes, which correct the documents they reference.
NOTE_TYPES = {"56", "61"}
ISSUER_ACTIVITY_FIELDS = {
    "activity_description": "the giro, GiroEmis",
    "activity_code": "the Acteco",
}


def receiver_may_be_anonymous(document_type: str, corrected_types: Iterable[str]) -> bool:
    """Whether a Chilean DTE of `document_type` may go to a buyer without a RUT (naming the
    SII's anonymous one): a boleta, or a note correcting a boleta (`corrected_types`, the
    types of the documents it references). Finalize and the sandbox agency both ask it."""
    if document_type in BOLETA_TYPES:
        return True
    return document_type in NOTE_TYPES and any(code in BOLETA_TYPES for code in corrected_types)


def issues_dte(document: Any) -> bool:
    """Whether this workspace issues `document` as a DTE: a Chilean type the SII's schemas
    describe, not a supplier's own document."""
    document_type = document.document
    return (
        document_type.country_id == "CL"
        and document_type.code in DTE_LINE_LIMITS
        and getattr(document, "self_issued", True)
    )


def dte_line_limit(document: Any) -> int | None:
    """The most lines `document` may have as its DTE; None for one without a DTE of ours."""
    return DTE_LINE_LIMITS[document.document.code] if issues_dte(document) else None


def check_line_count(document: Any, count: int) -> None:
    """More lines than its DTE can hold would make a document that takes a folio and can
    never be filed: a 400 on `lines`, while it is a draft and again at finalize."""
    limit = dte_line_limit(document)
    if limit is not None and count > limit:
        raise InvalidInput(
            {"lines": [f"A {document.document} has at most {limit} lines (the SII's schema "
                       f"for its DTE); this one has {count}. Split it into several documents."]}
        )  # fmt: skip


def check_dte_receiver(document: Any, counterpart: dict[str, Any]) -> None:
    """At finalize, before the counterpart is frozen onto the document for good: a Chilean
    receiver without a RUT could only be named as the anonymous buyer, which the SII takes
    on boletas and on the notes that correct one alone. A 409 naming what to fix."""
    if not issues_dte(document) or counterpart["country"] != "CL" or counterpart["tax_id"]:
        return
    if document.receiver_may_be_anonymous:
        return
    party = getattr(document, document.counterpart_field)
    raise DomainError(
        "dte_receiver_tax_id_missing",
        f"{document.counterpart_field.capitalize()} {party.pk} has no tax_id: a "
        f"{document.document} names its receiver's RUT (RUTRecep), only boletas go to buyers "
        f"who do not identify themselves. Set the {document.counterpart_field}'s tax_id, then "
        "finalize again.",
    )


def check_dte_issuer(document: Any) -> None:
    """When the DTE is built: the workspace's own data it needs, read as it is now, so
    completing it then makes the DTE of a document finalized before. A 409 naming them."""
    workspace = document.workspace
    missing = [] if workspace.tax_id else ["tax_id (the RUTEmisor)"]
    if document.document.code not in BOLETA_TYPES:
        missing += [
            f"{field} ({meaning})"
            for field, meaning in ISSUER_ACTIVITY_FIELDS.items()
            if getattr(workspace, field) in ("", None)
        ]
    if missing:
        raise DomainError(
            "dte_issuer_incomplete",
            f"The workspace lacks {', '.join(missing)}, which the SII's schema requires in "
            f"the DTE of a {document.document}. Set them (PATCH /workspaces/{workspace.pk}/) "
            "and ask again.",
        )
