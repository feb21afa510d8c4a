"""Kernel endpoints: health and the fiscal document types."""

import pytest
from rest_framework.test import APIClient

from config.celery import app as celery_app
from tests.numbers import D

CHILE_SALES_AND_NOTES = {"33", "34", "39", "41", "46", "56", "61"}
DOCUMENT_FIELDS = {
    "id", "code", "name", "country", "currency", "tax", "has_taxes", "hold_taxes", "is_sale",
    "is_purchase", "is_order", "is_credit_note", "is_debit_note", "is_electronic",
    "prices_include_tax", "is_export",
}  # fmt: skip


def test_health_answers_200_when_the_database_and_broker_answer(db):
    response = APIClient().get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_answers_503_when_the_broker_is_unreachable(db, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")

    response = APIClient().get("/health/")

    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["database"] == "ok"
    assert response.json()["broker"].startswith("error: ")


def documents(tenant, **query):
    response = tenant.client.get("/generals/documents/", {"page_size": 100, **query})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_documents_list_chiles_types(tenant):
    chilean = documents(tenant, country="CL")

    assert {d["code"] for d in chilean} >= CHILE_SALES_AND_NOTES
    assert {d["country"] for d in chilean} == {"CL"}
    assert set(chilean[0]) == DOCUMENT_FIELDS
    factura = next(d for d in chilean if d["code"] == "33")
    assert (factura["id"], factura["currency"], factura["tax"]) == (33, "CLP", D("19.0000"))
    assert (factura["is_sale"], factura["has_taxes"], factura["hold_taxes"]) == (True, True, False)


@pytest.mark.parametrize(
    ("flag", "included", "excluded"),
    [
        ("is_sale", {"33", "39", "41", "61"}, {"46", "BTE"}),
        ("is_purchase", {"33", "46", "BTE"}, {"39", "41"}),
        ("hold_taxes", {"46", "BTE"}, {"33", "39", "61"}),
    ],
)
def test_documents_filter_by_flag(tenant, flag, included, excluded):
    flagged = documents(tenant, country="CL", **{flag: "true"})
    unflagged = documents(tenant, country="CL", **{flag: "false"})

    assert all(d[flag] for d in flagged)
    assert not any(d[flag] for d in unflagged)
    assert included <= {d["code"] for d in flagged}
    assert not excluded & {d["code"] for d in flagged}


def test_documents_filter_by_several_countries(tenant):
    both = documents(tenant, country__in="CL,AR")

    assert {d["country"] for d in both} == {"CL", "AR"}
    assert {d["code"] for d in both if d["country"] == "AR"} == {"INV", "CN", "DN", "REC"}


@pytest.mark.parametrize("flag", ["is_sale", "is_purchase", "hold_taxes"])
def test_documents_filter_by_a_flag_in_a_list_of_values(tenant, flag):
    flagged = documents(tenant, **{flag: "true"})

    one = documents(tenant, **{f"{flag}__in": "true"})
    both = documents(tenant, **{f"{flag}__in": "true,false"})

    assert [d["id"] for d in one] == [d["id"] for d in flagged]
    assert len(both) > len(one)


@pytest.mark.parametrize(
    "query", [{"is_sale": "1"}, {"hold_taxes": "maybe"}, {"is_purchase__in": "true,yes"}]
)
def test_documents_filter_by_a_flag_that_is_not_true_or_false_is_400(tenant, query):
    response = tenant.client.get("/generals/documents/", query)

    assert response.status_code == 400
    assert list(response.json()) == list(query)


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/generals/currencies/", {"code": "clp"}, ["CLP"]),
        ("/generals/countries/", {"name": "Chile"}, ["CL"]),
        ("/generals/states/", {"code": "CL-RM"}, ["CL-RM"]),
        ("/generals/comunas/", {"code": "13101"}, ["13101"]),
        ("/generals/comunas/", {"name": "Santiago", "region": "CL-RM"}, ["13101"]),
    ],
)
def test_reference_lists_filter_by_code_and_name(tenant, path, query, expected):
    response = tenant.client.get(path, query)

    assert response.status_code == 200, response.content
    assert [row["code"] for row in response.json()["results"]] == expected
