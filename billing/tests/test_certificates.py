"""Digital certificates: a PKCS#12 file loaded with its password, shown without its key."""

import base64

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from billing.models import Certificate
from billing.tests.certificate_helpers import self_signed

pytestmark = pytest.mark.django_db


def bundle(password: bytes = b"secreto") -> str:
    key, certificate = self_signed("Andes SpA firma")
    data = pkcs12.serialize_key_and_certificates(
        b"andes", key, certificate, None, BestAvailableEncryption(password)
    )
    return base64.b64encode(data).decode()


def test_a_loaded_certificate_shows_its_subject_and_validity_only(tenant):
    created = tenant.client.post(
        "/certificates/", {"pkcs12": bundle(), "password": "secreto"}, format="json"
    )

    assert created.status_code == 201, created.json()
    shown = tenant.client.get(f"/certificates/{created.json()['id']}/").json()
    assert shown["subject"] == "CN=Andes SpA firma"
    assert shown["is_sandbox"] is False
    assert {"pkcs12", "password", "private_key", "certificate"} & set(shown) == set()
    stored = Certificate.objects.get()
    # The key is kept encrypted, never as PEM.
    assert "PRIVATE KEY" not in stored.private_key


def test_a_wrong_password_is_refused(tenant):
    response = tenant.client.post(
        "/certificates/", {"pkcs12": bundle(), "password": "otra"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"pkcs12": ["Not a PKCS#12 file, or the password does not open it."]}
    assert not Certificate.objects.exists()


def test_the_admin_shows_a_certificate_without_its_key(tenant, admin_client):
    tenant.client.post("/certificates/", {"pkcs12": bundle(), "password": "secreto"}, format="json")
    certificate = Certificate.objects.get()

    page = admin_client.get(f"/admin/billing/certificate/{certificate.pk}/change/")

    assert page.status_code == 200
    assert "CN=Andes SpA firma" in page.content.decode()
    assert certificate.private_key not in page.content.decode()
