"""Factories of the kernel's models: users, workspaces, memberships, events, and the base
of every tenant model's factory.
"""

import datetime

import factory
from django.contrib.auth import get_user_model
from stdnum.cl import rut

from billing.models import Certificate, Country, Event, FolioRange, Membership, Workspace


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


class FolioRangeFactory(TenantFactory):
    """A loaded CAF of facturas (33), a hundred folios (its key is not a real one)."""

    class Meta:
        model = FolioRange

    document_type_id = 33
    # Ranges of one type never overlap: the n-th is folios n·100 + 1 to n·100 + 100.
    first = factory.Sequence(lambda n: n * 100 + 1)
    last = factory.LazyAttribute(lambda caf: caf.first + 99)
    authorized_on = factory.LazyFunction(lambda: datetime.date(2026, 1, 10))
    caf = "<CAF/>"
    private_key = "not-a-key"


class CertificateFactory(TenantFactory):
    """A stored certificate (its PEM and key are not real ones)."""

    class Meta:
        model = Certificate

    subject = factory.Sequence(lambda n: f"CN=Firma {n}")
    serial_number = factory.Sequence(lambda n: format(n + 1, "x"))
    not_before_at = factory.LazyFunction(lambda: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    not_after_at = factory.LazyFunction(lambda: datetime.datetime(2029, 1, 1, tzinfo=datetime.UTC))
    certificate = "not-a-certificate"
    private_key = "not-a-key"


FACTORIES: dict[type, type[TenantFactory]] = {
    Certificate: CertificateFactory,
    Event: EventFactory,
    FolioRange: FolioRangeFactory,
}
