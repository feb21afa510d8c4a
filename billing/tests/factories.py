"""Factories of the kernel's models: users, workspaces, memberships, events, and the base
of every tenant model's factory.
"""

import datetime
import functools

import factory
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from stdnum.cl import rut

from billing.models import Certificate, Country, Event, FolioRange, Membership, Workspace
from billing.services.folios import encrypt_private_key
from billing.tests.caf_helpers import recent_authorization_date
from billing.tests.certificate_helpers import self_signed


def chilean_rut(n: int) -> str:
    """The n-th valid RUT (check digit included) of a range no real company uses."""
    body = str(10_000_000 + n)
    return f"{body}-{rut.calc_check_digit(body)}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    country = factory.LazyFunction(lambda: Country.objects.get(code="CL"))
    currency = "CLP"
    timezone = "America/Santiago"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


class TenantFactory(factory.django.DjangoModelFactory):
    """Base for tenant models: pass `workspace` and `test_mode`."""

    workspace = factory.SubFactory(WorkspaceFactory)
    test_mode = False


class EventFactory(TenantFactory):
    class Meta:
        model = Event

    type = "customer.updated"
    object_id = factory.Sequence(lambda n: f"cus_{n:026d}")
    sequence = 1
    data = factory.LazyAttribute(lambda event: {"id": event.object_id})


@functools.cache
def _caf_private_key() -> str:
    """An RSA key as a loaded CAF stores it (encrypted), made once per process: a
    document numbered in a factory's range is stamped as a loaded CAF's would be."""
    key = rsa.generate_private_key(public_exponent=3, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return encrypt_private_key(pem)


class FolioRangeFactory(TenantFactory):
    """A loaded CAF of facturas (33), a hundred folios, with a real key (the CAF element
    itself is an empty one: not the SII's)."""

    class Meta:
        model = FolioRange

    document_type_id = 33
    # Ranges of one type never overlap: the n-th is folios n·100 + 1 to n·100 + 100.
    first = factory.Sequence(lambda n: n * 100 + 1)
    last = factory.LazyAttribute(lambda caf: caf.first + 99)
    authorized_on = factory.LazyFunction(recent_authorization_date)
    caf = "<CAF/>"
    private_key = factory.LazyFunction(_caf_private_key)


@functools.cache
def _certificate_pem_and_key() -> tuple[str, str]:
    """A self-signed certificate and its key, as a loaded one is stored (the key
    encrypted), made once per process: a DTE signed with a factory's certificate is
    signed as with a loaded one."""
    key, certificate = self_signed("Firma")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), encrypt_private_key(pem)


class CertificateFactory(TenantFactory):
    """A stored certificate: every one the same real certificate and key."""

    class Meta:
        model = Certificate

    subject = factory.Sequence(lambda n: f"CN=Firma {n}")
    serial_number = factory.Sequence(lambda n: format(n + 1, "x"))
    not_before_at = factory.LazyFunction(lambda: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    not_after_at = factory.LazyFunction(lambda: datetime.datetime(2029, 1, 1, tzinfo=datetime.UTC))
    certificate = factory.LazyFunction(lambda: _certificate_pem_and_key()[0])
    private_key = factory.LazyFunction(lambda: _certificate_pem_and_key()[1])


FACTORIES: dict[type, type[TenantFactory]] = {
    Certificate: CertificateFactory,
    Event: EventFactory,
    FolioRange: FolioRangeFactory,
}
