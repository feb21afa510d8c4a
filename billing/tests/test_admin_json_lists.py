"""JSON list fields the API reads back item by item (a draft's references, a meter's
filters, a reminder rule's document types) refuse on the admin form what the API's
serializer refuses: an object, a string, a number or a list of wrong items saved there
made the admin page, or every later read of the object, a 500."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import rendered_form_data
from invoices.tests.pdf_helpers import make_draft, make_issuer
from metering.tests.factories import MeterFactory
from reminders.tests.factories import ReminderRuleFactory

pytestmark = pytest.mark.django_db

WRONG_SHAPES = ['{"a": 1}', '"x"', "3", "[1]", '["x"]', '[{"a": 1}]', "[[1]]"]


def _post_change(client, obj, **changes):
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return client.post(url, rendered_form_data(client.get(url), **changes))


@pytest.fixture
def draft(tenant):
    make_issuer(tenant.workspace)
    return make_draft(tenant.workspace)


@pytest.mark.parametrize(
    "value",
    [*WRONG_SHAPES, '[{"document": "801", "serial": "1", "date": "someday"}]'],
)
def test_draft_references_the_api_would_refuse_are_refused(admin_client, tenant, draft, value):
    before = draft.references

    response = _post_change(admin_client, draft, references=value)

    assert response.status_code == 200
    assert "references" in response.context["adminform"].form.errors
    draft.refresh_from_db()
    assert draft.references == before
    assert tenant.client.get(f"/invoices/{draft.pk}/").status_code == 200


def test_draft_references_the_api_accepts_are_saved(admin_client, tenant, draft):
    value = '[{"document": "801", "serial": "OC-9", "date": "2026-03-02", "code": 1}]'

    response = _post_change(admin_client, draft, references=value)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.references[0]["serial"] == "OC-9"
    assert tenant.client.get(f"/invoices/{draft.pk}/").status_code == 200


def test_draft_references_emptied_are_not_an_error(admin_client, tenant, draft):
    response = _post_change(admin_client, draft, references="")

    assert response.status_code == 302
    draft.refresh_from_db()
    assert isinstance(draft.references, list)
    assert tenant.client.get(f"/invoices/{draft.pk}/").status_code == 200


@pytest.mark.parametrize("value", [*WRONG_SHAPES, '[{"key": "region", "values": []}]'])
def test_meter_filters_the_api_would_refuse_are_refused(admin_client, tenant, value):
    meter = MeterFactory(workspace=tenant.workspace, test_mode=tenant.test_mode)

    response = _post_change(admin_client, meter, filters=value)

    assert response.status_code == 200
    assert "filters" in response.context["adminform"].form.errors
    meter.refresh_from_db()
    assert meter.filters == []
    assert tenant.client.get(f"/meters/{meter.pk}/").status_code == 200


def test_meter_filters_the_api_accepts_are_saved(admin_client, tenant):
    meter = MeterFactory(workspace=tenant.workspace, test_mode=tenant.test_mode)

    response = _post_change(admin_client, meter, filters='[{"key": "region", "values": ["eu"]}]')

    assert response.status_code == 302
    meter.refresh_from_db()
    assert meter.filters == [{"key": "region", "values": ["eu"]}]
    assert tenant.client.get(f"/meters/{meter.pk}/").status_code == 200


@pytest.mark.parametrize("value", ['{"a": 1}', '"x"', "3", '["x"]', '[{"a": 1}]', "[[1]]", "[0]"])
def test_reminder_rule_documents_the_api_would_refuse_are_refused(admin_client, tenant, value):
    rule = ReminderRuleFactory(workspace=tenant.workspace, test_mode=tenant.test_mode)

    response = _post_change(admin_client, rule, documents=value)

    assert response.status_code == 200
    assert "documents" in response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.documents == []
