"""The sandbox tax agency: validates like the SII would, answers asynchronously.

`submit` checks the document at once and stores the verdict with the submission
(`SandboxSubmission`); `poll` answers "processing" the first time it is asked about a
tracking id and the verdict from then on, with the SII's codes:

- accepted: upload status EPR ("Envío procesado"), document status DOK;
- rejected: upload status RCT (cover: the issuer's RUT), RSC (schema: a malformed
  document, or a DTE that does not follow the SII's XSD), RFR (the DTE's signature does
  not verify) or RCH (anything else), document status FAU, and `reasons`, each
  `{"code", "field", "message"}`.

What it checks: the issuer's and the customer's tax ids (RUT check digits in Chile, via
billing.tax_ids), the document type, the folio (present and > 0), the date (not after
the submission, in any time zone), the totals against the lines (net and exempt from the
line totals after the document discount, tax once per rate on the net, half-up, and
Chile's additional taxes once per code, apart from it) and the references (required on
credit and debit notes, 56/61/111/112 in Chile, and complete). A Chilean document that
carries its DTE (`xml`) has it checked first as the SII does
(billing.tax_agency.sii_schema): the XSD (the boleta schema for 39 and 41), the XMLDSig
signature, the timbre against the CAF's key, and that type, folio, issuer and totals
(net, exempt, IVA, total) are the document's: a DTE that is not, like one the SII finds
not to match what was declared, is rejected with `dte_mismatch` on the field.

Forcing a rejection: a customer whose tax id has only the digit 1 (in Chile
`11111111-1`, a valid RUT) is "not registered" at the sandbox agency, so every document
issued to them is rejected with `customer_not_registered`. Fix the customer's tax id (or
issue to another customer) and retry the submission to see it accepted.
"""

import base64
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from lxml import etree

from billing.dte_rules import receiver_may_be_anonymous
from billing.models import Country, DocumentType, SandboxSubmission
from billing.money import allocate, round_amount
from billing.tax_agency import sii_schema
from billing.tax_agency.base import PollResult, TaxAgencyError, TaxDocument
from billing.tax_ids import InvalidTaxId, normalize_tax_id

ACCEPTED_UPLOAD = "EPR"
REJECTED_COVER = "RCT"
REJECTED_SCHEMA = "RSC"
REJECTED_SIGNATURE = "RFR"
REJECTED_OTHER = "RCH"
RECEIVED_UPLOAD = "REC"
UPLOAD_DESCRIPTIONS = {
    RECEIVED_UPLOAD: "Envío recibido",
    ACCEPTED_UPLOAD: "Envío procesado",
    REJECTED_COVER: "Rechazado por error en carátula",
    REJECTED_SCHEMA: "Rechazado por error en schema",
    REJECTED_SIGNATURE: "Rechazado por error en firma",
    REJECTED_OTHER: "Rechazado",
}
DOCUMENT_ACCEPTED = ("DOK", "Documento recibido por el SII. Datos coinciden con los registrados.")
DOCUMENT_REJECTED = ("FAU", "Documento no recibido por el SII.")

REFERENCE_CODES = {1, 2, 3}
MAX_REFERENCES = 40
MAX_REFERENCE_SERIAL = 18
MAX_REFERENCE_DESCRIPTION = 90
# The date of a document issued anywhere is at most this far ahead of UTC.
EARLIEST_TIME_ZONE = timedelta(hours=14)
_UNREGISTERED = re.compile(r"^1+$")
# The filed totals a DTE's Totales state.
_DTE_TOTALS = ("amount", "exempt", "tax", "total")
# The SII's ImptoReten code of the IVA a factura de compra's buyer withholds in full.
IVA_WITHHELD = "15"

Reason = dict[str, str]


def _reason(code: str, field: str, message: str) -> Reason:
    return {"code": code, "field": field, "message": message}


class _Malformed(ValueError):
    """The document does not follow the schema; the message says where."""


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _Malformed(f"{where} is not a number: {value!r}.") from exc


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _Malformed(f"{where} is not a date: {value!r}.") from exc


def _compact(tax_id: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", tax_id).upper()


def _issuer_reasons(document: TaxDocument) -> list[Reason]:
    issuer = document["issuer_tax_id"]
    if not issuer:
        return [_reason("issuer_tax_id_missing", "issuer_tax_id", "The issuer has no tax id.")]
    try:
        normalize_tax_id(document["country"], issuer)
    except InvalidTaxId as exc:
        return [_reason("issuer_tax_id_invalid", "issuer_tax_id", f"{issuer}: {exc}")]
    return []


def _receiver_may_be_anonymous(document: TaxDocument) -> bool:
    """Boletas go to final consumers, who need not identify themselves, and so do the notes
    correcting them: the rule finalize follows (dte_rules), the corrected documents read
    from the references that give a reason code."""
    corrected = (
        str(r.get("document") or "")
        for r in document["references"]
        if r.get("code") in REFERENCE_CODES
    )
    return receiver_may_be_anonymous(document["document_type"], corrected)


def _customer_reasons(document: TaxDocument) -> list[Reason]:
    customer = document["customer_tax_id"]
    if document["customer_country"] != document["country"]:
        return []  # a foreign customer's id is not the agency's to check
    if not customer:
        regulated = Country.objects.filter(
            code=document["country"], has_tax_regulation=True
        ).exists()
        if regulated and not _receiver_may_be_anonymous(document):
            return [
                _reason("customer_tax_id_missing", "customer_tax_id", "The customer has no tax id.")
            ]
        return []
    try:
        normalize_tax_id(document["customer_country"], customer)
    except InvalidTaxId as exc:
        return [_reason("customer_tax_id_invalid", "customer_tax_id", f"{customer}: {exc}")]
    if _UNREGISTERED.match(_compact(customer)):
        return [
            _reason(
                "customer_not_registered",
                "customer_tax_id",
                f"{customer} is not registered with the tax agency.",
            )
        ]
    return []


def _totals_reasons(document: TaxDocument) -> list[Reason]:
    currency = document["currency"]
    lines = document["lines"]
    if not lines:
        return [_reason("lines_missing", "lines", "A document needs at least one line.")]
    line_totals = [_decimal(line["total"], f"lines.{i}.total") for i, line in enumerate(lines)]
    totals = document["totals"]
    discount = _decimal(totals["discount"], "totals.discount")
    nets = [
        total - share
        for total, share in zip(line_totals, allocate(discount, line_totals, currency), strict=True)
    ]
    taxable_by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    expected = {"amount": Decimal(0), "exempt": Decimal(0)}
    for i, (line, net) in enumerate(zip(lines, nets, strict=True)):
        if line["exempt"]:
            expected["exempt"] += net
        else:
            expected["amount"] += net
            taxable_by_rate[_decimal(line["tax_percent"], f"lines.{i}.tax_percent")] += net
    if document.get("prices_include_tax", False):
        # A boleta's lines are gross: per rate, neto = round(gross / (1 + rate)) (rules.md §8).
        expected["tax"] = sum(
            (
                base - round_amount(base * 100 / (100 + rate), currency)
                for rate, base in taxable_by_rate.items()
                if rate
            ),
            Decimal(0),
        )
        expected["amount"] -= expected["tax"]
    else:
        # Once per rate on the net, never per line (rules.md §2).
        expected["tax"] = sum(
            (round_amount(base * rate / 100, currency) for rate, base in taxable_by_rate.items()),
            Decimal(0),
        )
    # Additional taxes, apart from IVA: once per code and rate on the net, like the tax.
    additional_by_code: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for i, (line, net) in enumerate(zip(lines, nets, strict=True)):
        if line.get("additional_tax"):
            rate = _decimal(line.get("additional_tax_percent"), f"lines.{i}.additional_tax_percent")
            additional_by_code[(line["additional_tax"], rate)] += net
    expected["additional_tax"] = sum(
        (
            round_amount(base * rate / 100, currency)
            for (_, rate), base in additional_by_code.items()
        ),
        Decimal(0),
    )
    expected["total"] = (
        expected["amount"] + expected["exempt"] + expected["tax"] + expected["additional_tax"]
    )
    reasons = _retention_reasons(totals, expected["total"], currency)
    for name, value in expected.items():
        # A document without additional taxes may leave their total out.
        filed = totals.get(name, "0") if name == "additional_tax" else totals[name]  # type: ignore[literal-required]
        declared = _decimal(filed, f"totals.{name}")
        if declared != value:
            reasons.append(
                _reason(
                    "totals_inconsistent",
                    f"totals.{name}",
                    f"The document declares {name} {declared}; its lines give {value}.",
                )
            )
    return reasons


def _retention_reasons(totals: Any, total: Decimal, currency: str) -> list[Reason]:
    """A withholding must be its rate of the total, half-up (Ley 21.133's boletas)."""
    if "retention" not in totals:
        return []
    retention = _decimal(totals["retention"], "totals.retention")
    percent = _decimal(totals.get("retention_percent", "0"), "totals.retention_percent")
    expected = round_amount(total * percent / 100, currency)
    if retention != expected or not 0 < percent < 100:
        return [
            _reason(
                "retention_inconsistent",
                "totals.retention",
                f"The document withholds {retention} at {percent}%; {percent}% of {total} "
                f"is {expected}.",
            )
        ]
    return []


def _withholding_reasons(document: TaxDocument, document_type: DocumentType) -> list[Reason]:
    # A document type that holds taxes and bears none is a boleta de honorarios: it exists
    # to declare the withholding.
    withholding = document_type.hold_taxes and not document_type.has_taxes
    if withholding and "retention" not in document["totals"]:
        return [
            _reason(
                "retention_missing",
                "totals.retention",
                f"A {document_type.code} declares the tax it withholds.",
            )
        ]
    return []


def _reference_reasons(document: TaxDocument, needs_reference: bool, today: date) -> list[Reason]:
    references = document["references"]
    reasons = []
    if len(references) > MAX_REFERENCES:
        reasons.append(
            _reason("references_too_many", "references", f"At most {MAX_REFERENCES} references.")
        )
    for i, reference in enumerate(references):
        where = f"references.{i}"
        if not reference.get("document"):
            reasons.append(_reason("reference_invalid", f"{where}.document", "Type missing."))
        serial = str(reference.get("serial") or "")
        if not serial or len(serial) > MAX_REFERENCE_SERIAL:
            reasons.append(
                _reason(
                    "reference_invalid",
                    f"{where}.serial",
                    f"The referenced folio is required, at most {MAX_REFERENCE_SERIAL} characters.",
                )
            )
        referenced_date = reference.get("date")
        if not referenced_date or _date(referenced_date, f"{where}.date") > today:
            reasons.append(
                _reason("reference_invalid", f"{where}.date", "A past date is required.")
            )
        code = reference.get("code")
        if code is not None and code not in REFERENCE_CODES:
            reasons.append(
                _reason("reference_invalid", f"{where}.code", f"Unknown reason code {code}.")
            )
        if len(reference.get("description") or "") > MAX_REFERENCE_DESCRIPTION:
            reasons.append(
                _reason(
                    "reference_invalid",
                    f"{where}.description",
                    f"At most {MAX_REFERENCE_DESCRIPTION} characters.",
                )
            )
    if needs_reference and not any(r.get("code") in REFERENCE_CODES for r in references):
        reasons.append(
            _reason(
                "reference_required",
                "references",
                f"A {document['document_type']} must reference the document it modifies, "
                "with a reason code (1, 2 or 3).",
            )
        )
    return reasons


def _dte_verdict(document: TaxDocument, now: datetime) -> tuple[str | None, list[Reason]]:
    """The SII's checks of a DTE's XML: schema (RSC) and signature (RFR) reject the upload
    outright; a bad timbre or a DTE that is not this document rejects the document."""
    try:
        xml = base64.b64decode(document["xml"], validate=True)
        dte = sii_schema.parse(xml)
    except (ValueError, etree.XMLSyntaxError) as exc:
        return REJECTED_SCHEMA, [_reason("dte_schema_invalid", "xml", f"Not XML: {exc}")]
    errors = sii_schema.schema_errors(dte)
    if errors:
        return REJECTED_SCHEMA, [_reason("dte_schema_invalid", "xml", e) for e in errors[:20]]
    signature = sii_schema.signature_error(xml, at=now)
    if signature:
        return REJECTED_SIGNATURE, [_reason("dte_signature_invalid", "xml", signature)]
    reasons = []
    timbre = sii_schema.timbre_error(dte)
    if timbre:
        reasons.append(_reason("dte_timbre_invalid", "xml", timbre))
    declared = {
        "document_type": (dte.findtext(".//{*}IdDoc/{*}TipoDTE"), document["document_type"]),
        "folio": (dte.findtext(".//{*}IdDoc/{*}Folio"), str(document["folio"])),
        "issuer_tax_id": (
            dte.findtext(".//{*}Emisor/{*}RUTEmisor"),
            normalize_tax_id("CL", document["issuer_tax_id"]),
        ),
    }
    for field, (in_xml, filed) in declared.items():
        if in_xml != filed:
            reasons.append(
                _reason("dte_mismatch", f"xml.{field}", f"The DTE says {in_xml}; filed {filed}.")
            )
    for name, (in_xml_amount, filed_amount) in _dte_totals(dte, document).items():
        if in_xml_amount != filed_amount:
            reasons.append(
                _reason(
                    "dte_mismatch",
                    f"xml.totals.{name}",
                    f"The DTE says {in_xml_amount}; filed {filed_amount}.",
                )
            )
    return None, reasons


def _dte_totals(dte: Any, document: TaxDocument) -> dict[str, tuple[Decimal, Decimal]]:
    """The DTE's Totales beside the filed totals they state; an amount the DTE leaves
    out is 0. An export's net is exempt: its MntExe is the net and the exempt together. The
    MntTotal of a factura de compra (and of its notes) is what its buyer pays, the total
    less the IVA they withhold (ImptoReten 15), which only the DTE states."""

    def in_xml(path: str) -> Decimal:
        text = dte.findtext(f".//{{*}}Totales/{path}")
        return _decimal(text, f"xml Totales/{path}") if text else Decimal(0)

    totals: dict[str, Any] = dict(document["totals"])
    filed = {name: _decimal(totals[name], f"totals.{name}") for name in _DTE_TOTALS}
    if dte.findtext(".//{*}Totales/{*}TpoMoneda"):
        return {
            "exempt": (in_xml("{*}MntExe"), filed["amount"] + filed["exempt"]),
            "total": (in_xml("{*}MntTotal"), filed["total"]),
        }
    withheld = Decimal(0)
    if document.get("withholds_tax", False):
        for tax in dte.iterfind(".//{*}Totales/{*}ImptoReten"):
            if tax.findtext("{*}TipoImp") == IVA_WITHHELD:
                withheld += _decimal(tax.findtext("{*}MontoImp"), "xml ImptoReten/MontoImp")
    return {
        "amount": (in_xml("{*}MntNeto"), filed["amount"]),
        "exempt": (in_xml("{*}MntExe"), filed["exempt"]),
        "tax": (in_xml("{*}IVA"), filed["tax"]),
        "total": (in_xml("{*}MntTotal") + withheld, filed["total"]),
    }


def validate(document: TaxDocument, *, now: datetime) -> tuple[str, list[Reason]]:
    """The upload status the sandbox will report, and why it rejects, if it does."""
    try:
        issuer_reasons = _issuer_reasons(document)
        if issuer_reasons:
            return REJECTED_COVER, issuer_reasons
        reasons: list[Reason] = []
        if document.get("xml"):
            rejected_upload, reasons = _dte_verdict(document, now)
            if rejected_upload:
                return rejected_upload, reasons
        reasons += _customer_reasons(document)
        document_type = DocumentType.objects.filter(
            country_id=document["country"], code=document["document_type"], is_electronic=True
        ).first()
        if document_type is None:
            reasons.append(
                _reason(
                    "document_type_unknown",
                    "document_type",
                    f"{document['document_type']} is not an electronic document type "
                    f"of {document['country']}.",
                )
            )
        folio = document["folio"]
        if not isinstance(folio, int) or folio <= 0:
            reasons.append(_reason("folio_missing", "folio", "A folio greater than 0 is required."))
        latest_date = (now + EARLIEST_TIME_ZONE).date()
        if _date(document["date"], "date") > latest_date:
            reasons.append(
                _reason("date_in_future", "date", f"{document['date']} is after the submission.")
            )
        reasons += _totals_reasons(document)
        if document_type is not None:
            reasons += _withholding_reasons(document, document_type)
        needs_reference = document_type is not None and (
            document_type.is_credit_note or document_type.is_debit_note
        )
        reasons += _reference_reasons(document, needs_reference, latest_date)
    except (_Malformed, KeyError, TypeError, AttributeError) as exc:
        message = f"Missing field {exc}." if isinstance(exc, KeyError) else str(exc)
        return REJECTED_SCHEMA, [_reason("schema_invalid", "", message)]
    return (REJECTED_OTHER if reasons else ACCEPTED_UPLOAD), reasons


class SandboxAgency:
    """A tax agency in the database. Every country uses it until it has a real backend."""

    def submit(self, document: TaxDocument, *, now: datetime) -> str:
        upload_status, reasons = validate(document, now=now)
        verdict = (
            SandboxSubmission.Verdict.ACCEPTED
            if upload_status == ACCEPTED_UPLOAD
            else SandboxSubmission.Verdict.REJECTED
        )
        key = str(document.get("key") or "")
        if verdict == SandboxSubmission.Verdict.ACCEPTED:
            earlier = self._accepted(key)
            if earlier is not None:
                return earlier
        try:
            with transaction.atomic():
                submission = SandboxSubmission.objects.create(
                    key=key,
                    payload=document,
                    verdict=verdict,
                    upload_status=upload_status,
                    reasons=reasons,
                    created_at=now,
                )
        except IntegrityError:
            # The same document was accepted meanwhile, by a submit whose answer was lost.
            accepted = self._accepted(key)
            if accepted is None:
                raise
            return accepted
        return submission.tracking_id

    @staticmethod
    def _accepted(key: str) -> str | None:
        return (
            SandboxSubmission.objects.filter(key=key, verdict=SandboxSubmission.Verdict.ACCEPTED)
            .values_list("tracking_id", flat=True)
            .first()
        )

    def poll(self, tracking_id: str, *, now: datetime) -> PollResult:
        with transaction.atomic():
            submission = (
                SandboxSubmission.objects.select_for_update().filter(pk=tracking_id).first()
            )
            if submission is None:
                raise TaxAgencyError(f"Unknown tracking id {tracking_id}.")
            submission.polls += 1
            if submission.polls > 1 and submission.decided_at is None:
                submission.decided_at = now
            submission.save(update_fields=["polls", "decided_at"])
        return _answer(submission)


def _answer(submission: SandboxSubmission) -> PollResult:
    response: dict[str, Any] = {
        "tracking_id": submission.tracking_id,
        "received_at": submission.created_at.isoformat(),
    }
    if submission.decided_at is None:
        return PollResult(
            status="processing",
            response={
                **response,
                "upload_status": RECEIVED_UPLOAD,
                "upload_status_description": UPLOAD_DESCRIPTIONS[RECEIVED_UPLOAD],
            },
        )
    accepted = submission.verdict == SandboxSubmission.Verdict.ACCEPTED
    document_status, description = DOCUMENT_ACCEPTED if accepted else DOCUMENT_REJECTED
    payload = submission.payload
    response.update(
        {
            "upload_status": submission.upload_status,
            "upload_status_description": UPLOAD_DESCRIPTIONS[submission.upload_status],
            "processed_at": submission.decided_at.isoformat(),
            "documents": [
                {
                    "document_type": payload.get("document_type"),
                    "folio": payload.get("folio"),
                    "status": document_status,
                    "description": description,
                }
            ],
        }
    )
    if accepted:
        return PollResult(status="accepted", response=response)
    return PollResult(status="rejected", response={**response, "reasons": submission.reasons})
