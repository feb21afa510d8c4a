"""Reference data (countries, states, currencies, comunas, document types) comes with the
code, seeded by migrations: what the API, the totals and the numbering look up by code
(Chile's 33, CLP's minor units). The back office reads it and changes none of it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from billing.models import Comuna, Country, Currency, DocumentType, State

pytestmark = pytest.mark.django_db

REFERENCE = [Country, State, Currency, Comuna, DocumentType]


@pytest.mark.parametrize("model", REFERENCE, ids=lambda model: model.__name__)
def test_reference_data_is_shown_and_not_written(model, admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    obj = model.objects.first()

    assert model_admin.has_view_permission(request, obj)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)


def test_a_document_type_posted_to_its_page_is_not_changed(admin_client):
    factura = DocumentType.objects.get(country="CL", code="33")
    url = reverse("admin:billing_documenttype_change", args=[factura.pk])

    page = admin_client.get(url)
    response = admin_client.post(
        url, {"code": "34", "name": "Renamed", "country": "CL", "currency": "CLP", "tax": "0"}
    )

    assert page.status_code == 200
    assert response.status_code == 403
    factura.refresh_from_db()
    assert (factura.code, factura.tax) == ("33", 19)


def test_a_document_type_is_not_added(admin_client):
    response = admin_client.post(
        reverse("admin:billing_documenttype_add"),
        {"id": "999", "code": "33", "name": "Twin", "country": "CL", "currency": "CLP"},
    )

    assert response.status_code == 403
    assert not DocumentType.objects.filter(pk=999).exists()


def test_a_currency_keeps_its_minor_units(admin_client):
    clp = Currency.objects.get(code="CLP")
    url = reverse("admin:billing_currency_change", args=[clp.pk])

    response = admin_client.post(url, {"code": "CLP", "name": "Peso", "minor_units": "2"})

    assert response.status_code == 403
    clp.refresh_from_db()
    assert clp.minor_units == 0
