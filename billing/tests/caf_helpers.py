"""CAF documents as the SII issues them (AUTORIZACION: CAF with DA and FRMA, RSASK,
RSAPUBK), built with a fresh key, for the folio tests."""

import base64
from datetime import date, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone


def _b64(number: int) -> str:
    return base64.b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode()


def caf_xml(
    *,
    rut: str = "76086428-5",
    document: int = 33,
    first: int = 1,
    last: int = 100,
    key: rsa.RSAPrivateKey | None = None,
    public_of: rsa.RSAPrivateKey | None = None,
    public_pem_of: rsa.RSAPrivateKey | None = None,
    name: str = "SERVICIOS DIGITALES ANDES SPA",
    idk: str = "100",
    frma: str = '<FRMA algoritmo="SHA1withRSA">c2lnbmVkIGJ5IHRoZSBTSUk=</FRMA>',
    authorized_on: date | None = None,
) -> str:
    """`public_of` puts another key's public half in RSAPK, `public_pem_of` in RSAPUBK (a
    CAF whose keys do not match). Authorized yesterday unless `authorized_on` says: a
    CAF is used within six months of its date (rules.md §8)."""
    authorized_on = authorized_on or recent_authorization_date()
    key = key or rsa.generate_private_key(public_exponent=3, key_size=1024)
    public = (public_of or key).public_key().public_numbers()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        (public_pem_of or key)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return f"""<?xml version="1.0"?>
<AUTORIZACION>
<CAF version="1.0">
<DA>
<RE>{rut}</RE>
<RS>{name}</RS>
<TD>{document}</TD>
<RNG><D>{first}</D><H>{last}</H></RNG>
<FA>{authorized_on.isoformat()}</FA>
<RSAPK><M>{_b64(public.n)}</M><E>{_b64(public.e)}</E></RSAPK>
<IDK>{idk}</IDK>
</DA>
{frma}
</CAF>
<RSASK>{private_pem}</RSASK>
<RSAPUBK>{public_pem}</RSAPUBK>
</AUTORIZACION>
"""


def recent_authorization_date() -> date:
    # Yesterday in UTC is no later than today in any workspace's timezone.
    return timezone.now().date() - timedelta(days=1)
