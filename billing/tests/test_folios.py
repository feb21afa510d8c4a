"""CAF folio ranges: loading the SII's XML (the key stored encrypted, never returned), and
folios taken only inside the loaded ranges, gapless, with a 409 when none is left."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from billing.models import DocumentType, Event, FolioRange
from billing.services.folios import folio_range_private_key
from billing.services.numbering import number_take
from billing.tests.caf_helpers import caf_xml, recent_authorization_date
from billing.tests.factories import FolioRangeFactory
from invoices.models import Invoice
from invoices.tests.factories import InvoiceFactory
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def issuer(tenant):
    tenant.workspace.tax_id = "76086428-5"
    tenant.workspace.save()
    return tenant


def load(tenant, **caf):
    return tenant.client.post("/cafs/", {"caf": caf_xml(**caf)}, format="json")


def finalize(tenant):
    invoice = InvoiceFactory(workspace=tenant.workspace, test_mode=tenant.test_mode)
    return tenant.client.post(f"/invoices/{invoice.id}/finalize/")


def test_a_caf_is_loaded_and_its_key_never_leaves(issuer):
    key = rsa.generate_private_key(public_exponent=3, key_size=1024)

    response = issuer.client.post(
        "/cafs/", {"caf": caf_xml(first=5, last=7, key=key)}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["document"], body["first"], body["last"], body["authorized_on"]) == (
        33,
        5,
        7,
        recent_authorization_date().isoformat(),
    )
    assert "caf" not in body and "private_key" not in body
    listed = issuer.client.get("/cafs/").text
    assert "PRIVATE KEY" not in listed and "RSASK" not in listed
    stored = FolioRange.objects.get(pk=body["id"])
    assert "PRIVATE KEY" not in stored.private_key  # encrypted at rest
    assert folio_range_private_key(stored).private_numbers() == key.private_numbers()
    assert "<RSASK>" not in stored.caf and "<DA>" in stored.caf


def test_the_ranges_are_served_at_their_first_path_too(issuer):
    loaded = load(issuer).json()

    listed = issuer.client.get("/folios/").json()
    detail = issuer.client.get(f"/folios/{loaded['id']}/").json()

    assert [row["id"] for row in listed["results"]] == [loaded["id"]]
    assert detail == issuer.client.get(f"/cafs/{loaded['id']}/").json()


@pytest.mark.parametrize(
    ("caf", "fragment"),
    [
        ({"rut": "77123456-9"}, "issued to RUT 77123456-9"),
        ({"document": 999}, "TD 999"),
        ({"first": 10, "last": 5}, "not a range"),
        (
            {"public_of": rsa.generate_private_key(public_exponent=3, key_size=1024)},
            "not the key",
        ),
        (
            {"public_pem_of": rsa.generate_private_key(public_exponent=3, key_size=1024)},
            "RSAPUBK is not the public key",
        ),
        ({"last": 10**10}, "not a range"),
        ({"frma": ""}, "no FRMA"),
        ({"frma": '<FRMA algoritmo="SHA256withRSA">c2ln</FRMA>'}, "no FRMA"),
        ({"frma": '<FRMA algoritmo="SHA1withRSA">no base64!</FRMA>'}, "FRMA is not base64"),
        ({"idk": ""}, "no DA/IDK"),
        ({"idk": "cien"}, "IDK is not"),
        ({"name": "S" * 41}, "RS is longer"),
    ],
)
def test_a_caf_not_of_this_workspace_or_malformed_is_a_400(issuer, caf, fragment):
    response = load(issuer, **caf)

    assert response.status_code == 400, response.json()
    assert fragment in response.json()["caf"][0]
    assert not FolioRange.objects.exists()


def _with_private_pem(pem: bytes) -> str:
    key = rsa.generate_private_key(public_exponent=3, key_size=1024)
    plain = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return caf_xml(key=key).replace(plain, pem.decode())


@pytest.mark.parametrize(
    "pem",
    [
        rsa.generate_private_key(public_exponent=3, key_size=1024).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        ),
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----",
    ],
    ids=["encrypted", "ec", "garbage"],
)
def test_a_caf_whose_rsask_is_not_a_plain_rsa_key_is_a_400(issuer, pem):
    response = issuer.client.post("/cafs/", {"caf": _with_private_pem(pem)}, format="json")

    assert response.status_code == 400, response.content
    assert "RSASK" in response.json()["caf"][0]
    assert not FolioRange.objects.exists()


def test_what_is_not_a_caf_is_a_400(issuer):
    for text in ["not xml", "<OTHER/>", '<!DOCTYPE x [<!ENTITY a "b">]><AUTORIZACION/>']:
        response = issuer.client.post("/cafs/", {"caf": text}, format="json")
        assert response.status_code == 400, text
        assert "caf" in response.json()


def test_overlapping_ranges_are_a_409(issuer):
    assert load(issuer, first=1, last=10).status_code == 201

    response = load(issuer, first=10, last=20)

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "folio_range_overlaps"


def test_folios_come_only_from_the_loaded_ranges_then_409(issuer):
    load(issuer, first=5, last=6)

    numbers = [finalize(issuer).json()["number"] for _ in range(2)]
    exhausted = finalize(issuer)

    assert numbers == [5, 6]
    assert exhausted.status_code == 409, exhausted.json()
    assert exhausted.json()["code"] == "folios_exhausted"
    # Nothing was taken: the refused invoice is still a draft without a number.
    assert Invoice.objects.filter(status="draft", number=None).count() == 1

    load(issuer, first=40, last=49)
    assert finalize(issuer).json()["number"] == 40  # the next range's first folio


# 11:00 in Santiago on 15 August 2026: a CAF authorized on 15 February is in its last day.
AUGUST_15 = datetime(2026, 8, 15, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("authorized_on", "code"),
    [(date(2026, 2, 14), "caf_expired"), (date(2026, 8, 16), "caf_dated_in_future")],
)
def test_a_caf_expired_or_dated_in_the_future_is_a_400(issuer, authorized_on, code):
    with time_machine.travel(AUGUST_15, tick=False):
        response = load(issuer, authorized_on=authorized_on)

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert not FolioRange.objects.exists()


def test_a_caf_in_its_last_valid_day_loads(issuer):
    with time_machine.travel(AUGUST_15, tick=False):
        response = load(issuer, authorized_on=date(2026, 2, 15))

    assert response.status_code == 201, response.json()


def test_folios_of_an_expired_caf_are_not_taken(issuer):
    with time_machine.travel(AUGUST_15, tick=False):
        load(issuer, first=1, last=10, authorized_on=date(2026, 2, 15))
        assert finalize(issuer).json()["number"] == 1

    with time_machine.travel(AUGUST_15 + timedelta(days=1), tick=False):
        expired = finalize(issuer)
        load(issuer, first=11, last=20, authorized_on=date(2026, 8, 16))
        renewed = finalize(issuer)

    assert expired.status_code == 409, expired.json()
    assert expired.json()["code"] == "folios_exhausted"
    assert "expired" in expired.json()["detail"]
    assert renewed.json()["number"] == 11  # the expired range's folios 2–10 are skipped


def test_a_caf_expires_on_the_workspaces_test_clock(db):
    issuer = make_tenant(test_mode=True)
    issuer.workspace.tax_id = "76086428-5"
    issuer.workspace.save()
    assert load(issuer, first=1, last=10).status_code == 201
    issuer.workspace.test_clock_at = datetime.now(UTC) + timedelta(days=200)
    issuer.workspace.save()

    response = finalize(issuer)

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "folios_exhausted"


def test_a_range_running_low_raises_one_event(issuer, settings):
    settings.FOLIOS_LOW_THRESHOLD = 3
    folio_range = FolioRange.objects.get(pk=load(issuer, first=1, last=4).json()["id"])

    for _ in range(4):
        assert finalize(issuer).status_code == 200

    low = Event.objects.filter(type="folio_range.low")
    assert [(e.object_id, e.data["remaining"]) for e in low] == [(folio_range.id, 2)]
    folio_range.refresh_from_db()
    assert folio_range.warned_at_remaining == 2


def test_types_and_modes_without_a_caf_number_as_before(issuer):
    load(issuer, first=100, last=101)
    factura_exenta = DocumentType.objects.get(pk=34)

    with transaction.atomic():
        now = datetime.now(UTC)
        test_mode = number_take(
            workspace=issuer.workspace,
            test_mode=True,
            document_type=DocumentType.objects.get(pk=33),
            now=now,
        )
        other_type = number_take(
            workspace=issuer.workspace, test_mode=False, document_type=factura_exenta, now=now
        )
        live = number_take(
            workspace=issuer.workspace,
            test_mode=False,
            document_type=DocumentType.objects.get(pk=33),
            now=now,
        )

    assert (test_mode, other_type, live) == (1, 1, 100)


def test_the_admin_warns_of_ranges_running_low(issuer, settings, admin_client):
    settings.FOLIOS_LOW_THRESHOLD = 3
    load(issuer, first=1, last=3)
    finalize(issuer)

    page = admin_client.get("/admin/billing/foliorange/")

    assert page.status_code == 200
    assert "running low" in page.content.decode()
    assert "PRIVATE KEY" not in page.content.decode()


def test_cafs_filter_by_document_and_by_its_former_name_document_type(tenant):
    factura = FolioRangeFactory(workspace=tenant.workspace)
    FolioRangeFactory(workspace=tenant.workspace, document_type_id=61)

    by_document = tenant.client.get("/cafs/", {"document": 33})
    by_type = tenant.client.get("/cafs/", {"document_type": 33})
    by_other = tenant.client.get("/cafs/", {"document": 39})

    assert [row["id"] for row in by_document.json()["results"]] == [factura.id]
    assert [row["id"] for row in by_type.json()["results"]] == [factura.id]
    assert by_other.json()["results"] == []


def test_the_admin_stops_warning_once_the_next_caf_is_loaded(issuer, settings, admin_client):
    settings.FOLIOS_LOW_THRESHOLD = 3
    load(issuer, first=1, last=3)
    finalize(issuer)
    assert "running low" in admin_client.get("/admin/billing/foliorange/").content.decode()

    load(issuer, first=4, last=50)

    page = admin_client.get("/admin/billing/foliorange/").content.decode()
    assert "running low" not in page


def test_a_caf_whose_folios_were_all_issued_already_is_a_409(issuer):
    # Numbered before any CAF was loaded (or past imported documents): a range the type's
    # numbers have passed could never give a folio.
    for _ in range(3):
        assert finalize(issuer).json()["number"] in (1, 2, 3)

    used_up = load(issuer, first=1, last=3)

    assert used_up.status_code == 409, used_up.json()
    assert used_up.json()["code"] == "caf_folios_issued"
    assert "3" in used_up.json()["detail"]
    assert not FolioRange.objects.exists()
    assert load(issuer, first=2, last=10).status_code == 201  # folios 4–10 are still free
    assert finalize(issuer).json()["number"] == 4


@pytest.mark.parametrize(
    "declaration", ['<?xml version="1.0" encoding="ISO-8859-1"?>', '<?xml version="1.0"?>']
)
def test_a_caf_is_uploaded_as_the_file_the_sii_issued(issuer, declaration):
    """A CAF is a file: a form or Piriod's client sends it multipart, as `caf`, in the
    SII's ISO-8859-1 whether or not its declaration says so."""
    xml = caf_xml(first=5, last=7, name="PANADERÍA ÑUÑOA SPA").replace(
        '<?xml version="1.0"?>', declaration
    )
    upload = SimpleUploadedFile("FoliosSII.xml", xml.encode("iso-8859-1"), "text/xml")

    response = issuer.client.post("/cafs/", {"caf": upload}, format="multipart")

    assert response.status_code == 201, response.json()
    assert (response.json()["first"], response.json()["last"]) == (5, 7)
    assert "PANADERÍA ÑUÑOA SPA" in FolioRange.objects.get().caf


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00garbage",
        '<?xml version="1.0" encoding="UTF-8"?><AUTORIZACION>Ñ'.encode("iso-8859-1"),
        b'<?xml version="1.0" encoding="klingon"?><AUTORIZACION/>',
    ],
)
def test_a_caf_upload_that_is_not_xml_text_is_a_400(issuer, content):
    upload = SimpleUploadedFile("folios.xml", content, "text/xml")

    response = issuer.client.post("/cafs/", {"caf": upload}, format="multipart")

    assert response.status_code == 400, response.json()
    assert "caf" in response.json()
    assert not FolioRange.objects.exists()


def test_an_uploaded_caf_replayed_with_its_key_must_be_the_same_file(issuer):
    def upload(xml):
        return issuer.client.post(
            "/cafs/",
            {"caf": SimpleUploadedFile("FoliosSII.xml", xml.encode(), "text/xml")},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="caf-upload-1",
        )

    first = upload(caf_xml(first=1, last=5))
    other_file = upload(caf_xml(first=6, last=9))

    assert first.status_code == 201, first.json()
    assert other_file.status_code == 422, other_file.json()
    assert FolioRange.objects.count() == 1


@pytest.mark.parametrize(
    ("authorized_on", "valid_until"),
    [(date(2026, 2, 15), "2026-08-15"), (date(2026, 2, 28), "2026-08-28")],
)
def test_a_caf_shows_the_last_day_its_folios_may_be_used(issuer, authorized_on, valid_until):
    with time_machine.travel(AUGUST_15, tick=False):
        loaded = load(issuer, authorized_on=authorized_on).json()
        shown = issuer.client.get(f"/cafs/{loaded['id']}/").json()
        listed = issuer.client.get("/cafs/").json()["results"][0]

    assert loaded["valid_until"] == shown["valid_until"] == listed["valid_until"] == valid_until
