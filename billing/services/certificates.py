"""Digital certificates (firma electrónica) that sign a workspace's DTEs (XMLDSig).

A workspace loads the PKCS#12 file its certification authority issued, with its
password; the password opens the file once and is not kept, and the key is stored
encrypted like a CAF's. While the workspace's tax agency is the sandbox, a self-signed
certificate is made for it the first time one is needed, so every flow works before a
real one is loaded.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.db import transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Certificate, Workspace
from billing.services.folios import UNREADABLE_KEY, decrypt_private_key, encrypt_private_key
from billing.tax_agency.registry import uses_sandbox

SANDBOX_VALIDITY = timedelta(days=3 * 365)


@dataclass(frozen=True)
class SigningKey:
    """What signs a DTE: the certificate (PEM) and its private key."""

    certificate_pem: bytes
    private_key: rsa.RSAPrivateKey


def _refuse(message: str) -> InvalidInput:
    return InvalidInput({"pkcs12": [message]})


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _store(
    *,
    workspace: Workspace,
    test_mode: bool,
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey,
    is_sandbox: bool,
) -> Certificate:
    return Certificate.objects.create(
        workspace=workspace,
        test_mode=test_mode,
        subject=certificate.subject.rfc4514_string()[:256],
        serial_number=format(certificate.serial_number, "x")[:64],
        not_before_at=certificate.not_valid_before_utc,
        not_after_at=certificate.not_valid_after_utc,
        certificate=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        private_key=encrypt_private_key(_pem(key)),
        is_sandbox=is_sandbox,
    )


@transaction.atomic
def certificate_load(
    *, workspace: Workspace, test_mode: bool, pkcs12_data: bytes, password: str, now: datetime
) -> Certificate:
    """Store the certificate and key of a PKCS#12 file; its password is not kept."""
    try:
        key, certificate, _chain = pkcs12.load_key_and_certificates(
            pkcs12_data, password.encode() if password else None
        )
    except UNREADABLE_KEY as exc:
        raise _refuse("Not a PKCS#12 file, or the password does not open it.") from exc
    if certificate is None or not isinstance(key, rsa.RSAPrivateKey):
        raise _refuse("The file must hold a certificate and its RSA private key.")
    if certificate.not_valid_after_utc <= now:
        raise _refuse(f"The certificate expired on {certificate.not_valid_after_utc.date()}.")
    return _store(
        workspace=workspace, test_mode=test_mode, certificate=certificate, key=key, is_sandbox=False
    )


def _sandbox_certificate(*, workspace: Workspace, test_mode: bool, now: datetime) -> Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sandbox tax agency"),
            x509.NameAttribute(NameOID.COMMON_NAME, (workspace.legal_name or workspace.name)[:64]),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, workspace.tax_id or workspace.pk),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + SANDBOX_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _store(
        workspace=workspace, test_mode=test_mode, certificate=certificate, key=key, is_sandbox=True
    )


def certificate_for_signing(*, workspace: Workspace, test_mode: bool, now: datetime) -> SigningKey:
    """The certificate valid at `now` that expires last; for the sandbox agency one is made
    when there is none. A real agency without a loaded certificate is a 409."""
    certificate = Certificate.objects.filter(
        workspace=workspace, test_mode=test_mode, not_before_at__lte=now, not_after_at__gt=now
    ).first()
    if certificate is None:
        if not uses_sandbox(workspace=workspace):
            raise DomainError(
                "certificate_missing",
                "No valid digital certificate to sign the DTE with: load the PKCS#12 file "
                "(POST /certificates/).",
            )
        certificate = _sandbox_certificate(workspace=workspace, test_mode=test_mode, now=now)
    # Checked when stored, and Fernet vouches it is unchanged: the RSA validation (near
    # 0.2 s for a 2048-bit key) is not repeated for every DTE.
    key = serialization.load_pem_private_key(
        decrypt_private_key(certificate.private_key),
        password=None,
        unsafe_skip_rsa_key_validation=True,
    )
    assert isinstance(key, rsa.RSAPrivateKey)  # only RSA keys are stored
    return SigningKey(certificate_pem=certificate.certificate.encode(), private_key=key)
