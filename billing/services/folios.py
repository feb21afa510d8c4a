"""CAF folio ranges: loading the XML the SII issues, and which folio a document takes.

Once a workspace has loaded a CAF for a document type (in a mode), that type's folios come
only from its loaded ranges: the next folio after the last one given, or the first of the
next range when a range is used up, and a 409 `folios_exhausted` when none is left. Types
without a loaded CAF keep numbering from 1 without bound (the sandbox agency's own
folios), so every flow works before a CAF is loaded.

What loading checks (parse_caf, folio_range_load): the document is the SII's AUTORIZACION
with every element the timbre repeats (DA with RE, RS, TD, RNG, FA, RSAPK and IDK, and
FRMA), within the lengths the SII's schema gives them, since every TED carries the <CAF>
as it came; the private key (RSASK) is the pair of the public key in DA (RSAPK) and of
the PEM beside it (RSAPUBK); the range is a range of folios; RE is the workspace's RUT
and TD a Chilean electronic document type; the range overlaps none loaded and has folios
the type's numbers have not passed yet; and the CAF
is within its six months (rules.md §8) on the workspace's clock, and not dated after it.

A CAF's folios are taken only while it is within those six months: once it expires, its
unused folios are skipped (the SII voids them), and when no range that has not expired
has folios left, finalize answers the same 409 `folios_exhausted`, saying they expired.

The SII's signature over DA (FRMA) is checked for its presence and algorithm only: it
verifies against the SII's own CAF-signing keys (IDK names which), which neither cl-sii
nor any dependency ships. It is kept as it came, for the SII to check.
"""

import base64
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction

from billing.clock import workspace_today
from billing.errors import DomainError, InvalidInput
from billing.models import DocumentType, FolioRange, NumberSequence, Workspace
from billing.models.folios import CAF_VALID_MONTHS, caf_last_valid_date
from billing.representations import folio_range_snapshot
from billing.services.events import event_record
from billing.tax_ids import InvalidTaxId, normalize_tax_id


def _fernet() -> Fernet:
    # A key of its own, derived from the server's secret: CAF keys are unreadable
    # without it, in a dump of the database or in the admin.
    digest = hashlib.sha256(f"caf-private-keys:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


# What cryptography raises for key material it cannot use: malformed (ValueError), encrypted
# with no password given (TypeError), or of an algorithm it does not support.
UNREADABLE_KEY = (ValueError, TypeError, UnsupportedAlgorithm)


def encrypt_private_key(pem: bytes) -> str:
    return _fernet().encrypt(pem).decode()


def decrypt_private_key(token: str) -> bytes:
    return _fernet().decrypt(token.encode())


def folio_range_private_key(folio_range: FolioRange) -> rsa.RSAPrivateKey:
    """The CAF's key, to sign a timbre with."""
    # The key was checked when the CAF was loaded and Fernet vouches it is unchanged: its
    # RSA validation (a tenth of a second for each timbre) is not repeated.
    key = serialization.load_pem_private_key(
        decrypt_private_key(folio_range.private_key),
        password=None,
        unsafe_skip_rsa_key_validation=True,
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("A CAF key is an RSA key.")
    return key


@dataclass(frozen=True)
class Caf:
    rut: str
    document_code: str
    first: int
    last: int
    authorized_on: date
    caf_xml: str
    private_key_pem: bytes


def _refuse(message: str) -> InvalidInput:
    return InvalidInput({"caf": [message]})


def _text(element: ET.Element, path: str) -> str:
    found = element.findtext(path)
    if found is None or not found.strip():
        raise _refuse(f"The CAF has no {path}.")
    return found.strip()


def _b64_int(text: str, name: str) -> int:
    try:
        return int.from_bytes(base64.b64decode(text, validate=True), "big")
    except ValueError as exc:
        raise _refuse(f"{name} is not base64.") from exc


# What the SII's schema (FolioType, the TED's CAF/DA/RS) allows.
MAX_FOLIO = 10**10 - 1
MAX_ISSUER_NAME = 40


def _check_signature_fields(caf: ET.Element) -> None:
    """The DA's name and key id and the SII's signature over it, as every TED repeats them."""
    if len(_text(caf, "DA/RS")) > MAX_ISSUER_NAME:
        raise _refuse(f"RS is longer than the {MAX_ISSUER_NAME} characters the SII gives it.")
    if not _text(caf, "DA/IDK").isdigit():
        raise _refuse("IDK is not the number of the SII's key.")
    signature = caf.find("FRMA")
    if signature is None or signature.get("algoritmo") != "SHA1withRSA":
        raise _refuse('The CAF has no FRMA algoritmo="SHA1withRSA", the SII\'s signature.')
    _b64_int(_text(caf, "FRMA"), "FRMA")


def _check_public_pem(root: ET.Element, public: rsa.RSAPublicNumbers) -> None:
    """RSAPUBK, the same public key in PEM beside RSASK, must be it too when present."""
    pem = root.findtext("RSAPUBK")
    if pem is None or not pem.strip():
        return
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except UNREADABLE_KEY as exc:
        raise _refuse("RSAPUBK is not an RSA public key.") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.public_numbers() != public:
        raise _refuse("RSAPUBK is not the public key of RSASK and RSAPK.")


def parse_caf(text: str) -> Caf:
    """The SII's AUTORIZACION document: <CAF><DA> (RE, TD, RNG D–H, FA, RSAPK), FRMA, and
    the private key RSASK, which must be the pair of RSAPK."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise _refuse("A CAF has no DTD or entities.")
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise _refuse(f"Not XML: {exc}.") from exc
    if root.tag != "AUTORIZACION" or root.find("CAF") is None:
        raise _refuse("Send the AUTORIZACION document the SII issued, as it came.")
    caf = root.find("CAF")
    assert caf is not None
    try:
        first = int(_text(caf, "DA/RNG/D"))
        last = int(_text(caf, "DA/RNG/H"))
        authorized_on = date.fromisoformat(_text(caf, "DA/FA"))
    except ValueError as exc:
        raise _refuse(f"The range or its date is malformed: {exc}.") from exc
    if not 0 < first <= last <= MAX_FOLIO:
        raise _refuse(f"The range {first}–{last} is not a range of folios.")
    _check_signature_fields(caf)
    pem = _text(root, "RSASK").encode()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except UNREADABLE_KEY as exc:
        raise _refuse("RSASK is not an unencrypted RSA private key.") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _refuse("RSASK is not an RSA private key.")
    public = key.public_key().public_numbers()
    modulus = _b64_int(_text(caf, "DA/RSAPK/M"), "RSAPK/M")
    exponent = _b64_int(_text(caf, "DA/RSAPK/E"), "RSAPK/E")
    if (public.n, public.e) != (modulus, exponent):
        raise _refuse("RSASK is not the key of the CAF's RSAPK.")
    _check_public_pem(root, public)
    return Caf(
        rut=_text(caf, "DA/RE"),
        document_code=_text(caf, "DA/TD"),
        first=first,
        last=last,
        authorized_on=authorized_on,
        caf_xml=ET.tostring(caf, encoding="unicode"),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    )


def _check_dates(caf: Caf, today: date) -> None:
    last_valid = caf_last_valid_date(caf.authorized_on)
    if last_valid < today:
        raise DomainError(
            "caf_expired",
            f"The CAF was authorized on {caf.authorized_on} and its folios expired after "
            f"{last_valid} ({CAF_VALID_MONTHS} months): ask the SII for a new one.",
            status_code=400,
        )
    if caf.authorized_on > today:
        # The SII dates a CAF the day it issues it: a later date is a wrong file or clock.
        raise DomainError(
            "caf_dated_in_future",
            f"The CAF is dated {caf.authorized_on}, after today ({today}) on the "
            "workspace's clock: load the CAF as the SII issued it.",
            status_code=400,
        )


@transaction.atomic
def folio_range_load(
    *, workspace: Workspace, test_mode: bool, caf: str, now: datetime
) -> FolioRange:
    """Store a CAF: its range for its document type, and its key encrypted."""
    parsed = parse_caf(caf)
    try:
        issued_to = normalize_tax_id("CL", parsed.rut)
    except InvalidTaxId as exc:
        raise _refuse(f"RE {parsed.rut}: {exc}") from exc
    if issued_to != workspace.tax_id:
        ours = workspace.tax_id or "unset"
        raise _refuse(f"The CAF was issued to RUT {issued_to}; the workspace's is {ours}.")
    document_type = DocumentType.objects.filter(
        country_id="CL", code=parsed.document_code, is_electronic=True
    ).first()
    if document_type is None or workspace.country_id != "CL":
        raise _refuse(f"TD {parsed.document_code} is not a Chilean electronic document type.")
    _check_dates(parsed, workspace_today(workspace, now))
    # Lock the type's ranges so two loads cannot overlap each other.
    scope = {"workspace": workspace, "test_mode": test_mode, "document_type": document_type}
    existing = list(FolioRange.objects.select_for_update().filter(**scope))
    overlapping = [r for r in existing if r.first <= parsed.last and parsed.first <= r.last]
    if overlapping:
        raise DomainError(
            "folio_range_overlaps",
            f"Folios {parsed.first}–{parsed.last} of {document_type.code} overlap the loaded "
            f"range {overlapping[0].first}–{overlapping[0].last} ({overlapping[0].id}).",
        )
    issued = (
        NumberSequence.objects.filter(**scope).values_list("last_number", flat=True).first() or 0
    )
    if parsed.last <= issued:
        # Numbers only move forward: a range they have passed would never give a folio.
        raise DomainError(
            "caf_folios_issued",
            f"Folios {parsed.first}–{parsed.last} of {document_type.code} were all issued "
            f"already (the last {document_type.code} is {issued}): load a CAF with folios "
            "after it.",
        )
    return FolioRange.objects.create(
        **scope,
        first=parsed.first,
        last=parsed.last,
        authorized_on=parsed.authorized_on,
        caf=parsed.caf_xml,
        private_key=encrypt_private_key(parsed.private_key_pem),
    )


def folio_range_issued(folio_range: FolioRange) -> bool:
    """Whether a folio of the range was given to a document: numbers are taken in order,
    so the type's counter has reached the range."""
    return NumberSequence.objects.filter(
        workspace_id=folio_range.workspace_id,
        test_mode=folio_range.test_mode,
        document_type_id=folio_range.document_type_id,
        last_number__gte=folio_range.first,
    ).exists()


def folios_left(
    *, workspace: Workspace, test_mode: bool, document_type_id: int, today: date
) -> int:
    """How many folios of the type the loaded ranges still hold, in CAFs not expired by
    `today`."""
    issued = (
        NumberSequence.objects.filter(
            workspace=workspace, test_mode=test_mode, document_type_id=document_type_id
        )
        .values_list("last_number", flat=True)
        .first()
        or 0
    )
    ranges = FolioRange.objects.filter(
        workspace=workspace, test_mode=test_mode, document_type_id=document_type_id
    )
    return sum(
        max(0, r.last - max(r.first, issued + 1) + 1)
        for r in ranges
        if caf_last_valid_date(r.authorized_on) >= today
    )


def folios_take(
    *,
    workspace: Workspace,
    test_mode: bool,
    document_type: DocumentType,
    after: int,
    count: int,
    today: date,
) -> list[int]:
    """The next `count` folios after `after`, in order, from the loaded ranges that have
    not expired by `today`: the rest of one range, then the next range's first ones; or
    `after + 1` onwards when the type has no CAF loaded. Runs under the numbering lock."""
    loaded = FolioRange.objects.filter(
        workspace=workspace, test_mode=test_mode, document_type=document_type
    ).order_by("first")
    if not loaded:
        return list(range(after + 1, after + count + 1))
    with_folios_left = [folio_range for folio_range in loaded if folio_range.last > after]
    ranges = [r for r in with_folios_left if caf_last_valid_date(r.authorized_on) >= today]
    folios: list[int] = []
    for index, folio_range in enumerate(ranges):
        first = max(after + 1, folio_range.first)
        taken = min(count - len(folios), folio_range.last - first + 1)
        folios += range(first, first + taken)
        if len(folios) == count:
            _warn_if_low(folio_range, ranges[index + 1 :], folios[-1])
            return folios
    expired = [r for r in with_folios_left if r not in ranges]
    left = f" for {count} documents (only {len(folios)} left)" if count > 1 else ""
    raise DomainError(
        "folios_exhausted",
        f"No folios of {document_type.code} are left in the loaded CAFs{left}"
        f"{_expired_note(expired)}: load the next CAF the SII issues (POST /cafs/).",
    )


def _expired_note(expired: list[FolioRange]) -> str:
    if not expired:
        return ""
    last = expired[-1]
    return (
        f" that have not expired; the folios left in {len(expired)} CAF"
        f"{'s' if len(expired) > 1 else ''} expired ({last.first}–{last.last}, authorized on "
        f"{last.authorized_on}, expired after {caf_last_valid_date(last.authorized_on)})"
    )


def _warn_if_low(folio_range: FolioRange, later: list[FolioRange], used_up_to: int) -> None:
    remaining = folio_range.last - used_up_to + sum(r.last - r.first + 1 for r in later)
    if remaining >= settings.FOLIOS_LOW_THRESHOLD or folio_range.warned_at_remaining is not None:
        return
    folio_range.warned_at_remaining = remaining
    folio_range.save(update_fields=["warned_at_remaining", "updated_at"])
    event_record(
        workspace=folio_range.workspace,
        test_mode=folio_range.test_mode,
        type="folio_range.low",
        object_id=folio_range.id,
        data=folio_range_snapshot(folio_range) | {"remaining": remaining},
    )
