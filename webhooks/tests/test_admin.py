"""The webhook endpoint admin saves through the endpoint services, as the API does: a URL
or event list the API refuses is refused on the form, and disabling an endpoint records
the same `webhook_endpoint.disabled` event."""

import pytest
from django.urls import reverse

from billing.models import Event
from billing.tests.admin_helpers import rendered_form_data
from webhooks.tests.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def post_change(admin_client, endpoint, *, drop=(), **changes):
    url = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    data = rendered_form_data(admin_client.get(url), **changes)
    return admin_client.post(url, {k: v for k, v in data.items() if k not in drop})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "http://127.0.0.1/hook"}, "url"),
        ({"events": '["invoice.nonexistent"]'}, "events"),
        ({"events": "5"}, "events"),
        ({"events": '"invoice.created"'}, "events"),
        ({"events": '[["invoice.created"]]'}, "events"),
        ({"events": '{"invoice.created": 1}'}, "events"),
    ],
)
def test_what_the_api_refuses_is_refused_on_the_form(admin_client, changes, field):
    endpoint = WebhookEndpointFactory()

    response = post_change(admin_client, endpoint, **changes)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.events == ["*"]
    assert endpoint.url.startswith("https://hooks")


def test_disabling_records_the_event_the_api_records(admin_client):
    endpoint = WebhookEndpointFactory()

    response = post_change(admin_client, endpoint, drop=("active",))

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert Event.objects.filter(object_id=endpoint.pk, type="webhook_endpoint.disabled").exists()


def test_enabling_resets_the_failures(admin_client):
    endpoint = WebhookEndpointFactory(
        active=False, disabled_reason="Too many failures.", consecutive_failures=20
    )

    response = post_change(admin_client, endpoint, active="on")

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason, endpoint.consecutive_failures) == (
        True, "", 0,
    )  # fmt: skip
