"""What every tax-agency backend takes and answers (rules.md §5).

A backend knows nothing about the apps: it receives a finalized document as a plain
dict (`TaxDocument`, amounts as decimal strings, dates as ISO strings) and answers with
a tracking id, then with `PollResult`s for that id.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NotRequired, Protocol, TypedDict


class TaxDocumentLine(TypedDict):
    name: str
    quantity: str
    amount: str  # unit price
    total: str  # after the line's own discount, in the document's currency
    exempt: bool
    tax_percent: str  # the rate that applies to this line; "0" when exempt
    # Chile: the additional tax the line bears, by SII code, and its rate.
    additional_tax: NotRequired[str]
    additional_tax_percent: NotRequired[str]


class TaxDocumentReference(TypedDict, total=False):
    """The SII's Referencia: TpoDocRef, FolioRef, FchRef, CodRef, RazonRef."""

    document: str
    serial: str
    date: str
    code: int | None  # 1 annuls, 2 corrects text, 3 corrects amounts
    description: str


class TaxDocumentTotals(TypedDict):
    discount: str  # the document-level discount, spread over the lines before tax
    amount: str  # taxable net
    exempt: str
    tax: str
    # Chile's additional taxes, apart from `tax`, included in `total`.
    additional_tax: NotRequired[str]
    total: str
    # Withholding documents (the SII's boleta de honorarios) only: the tax withheld from
    # the total at `retention_percent`.
    retention: NotRequired[str]
    retention_percent: NotRequired[str]


class TaxDocument(TypedDict):
    # The issuer's own id for the document. Submitting the same key again returns the
    # earlier tracking id unless that submission was rejected, so a retried submit whose
    # answer was lost never files the document twice.
    key: str
    country: str  # the issuer's
    test_mode: bool
    issuer_tax_id: str
    customer_tax_id: str
    customer_country: str
    document_type: str  # the code, e.g. "33"
    folio: int | None
    date: str
    currency: str
    lines: list[TaxDocumentLine]
    totals: TaxDocumentTotals
    references: list[TaxDocumentReference]
    # The SII's MntBruto: line amounts include the tax (boletas and their notes), so the
    # net is derived from the gross.
    prices_include_tax: NotRequired[bool]
    # Chile: the buyer withholds the whole tax (a factura de compra and its notes), which
    # the DTE states as ImptoReten 15 and leaves out of its MntTotal.
    withholds_tax: NotRequired[bool]
    # Chile: the signed DTE (the SII's XML, ISO-8859-1) in base64, when the document has
    # one (a loaded CAF covers its folio). The agency checks it as the SII would.
    xml: NotRequired[str]


PollStatus = Literal["processing", "accepted", "rejected"]


@dataclass(frozen=True)
class PollResult:
    status: PollStatus
    # The agency's answer as it gave it: codes, reasons, timestamps. Stored on the document.
    response: dict[str, Any] = field(default_factory=dict)


class TaxAgencyError(Exception):
    """The agency could not be reached or gave no usable answer; the caller retries later."""


class TaxAgency(Protocol):
    """A tax agency backend. Calls may take seconds: never make them holding a lock.

    `now` is the caller's clock, so backends (and the sandbox's date checks) need none.
    Any exception means "try again later".
    """

    def submit(self, document: TaxDocument, *, now: datetime) -> str:
        """File the document; return the agency's tracking id."""
        ...

    def poll(self, tracking_id: str, *, now: datetime) -> PollResult:
        """The current state of a submission."""
        ...
