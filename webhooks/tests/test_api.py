from datetime import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from billing.models import Event
from billing.tests.factories import EventFactory
from webhooks.choices import MAX_PREVIOUS_SECRETS
from webhooks.models import Delivery, WebhookEndpoint


@pytest.fixture
def client(test_tenant):
    return test_tenant.client


def create_endpoint(client, **overrides):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["customer.created"], **overrides}
    return client.post("/webhooks/", body, format="json")


def test_the_secret_is_shown_at_creation_and_never_again(client):
    created = create_endpoint(client)

    assert created.status_code == 201, created.json()
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint_id = created.json()["id"]
    assert endpoint_id.startswith("whk_")
    assert "secret" not in client.get(f"/webhooks/{endpoint_id}/").json()
    assert all("secret" not in e for e in client.get("/webhooks/").json()["results"])
    patched = client.patch(f"/webhooks/{endpoint_id}/", {"description": "CRM"}, format="json")
    assert "secret" not in patched.json()


def test_rotate_secret_returns_a_new_secret_and_keeps_the_old_for_the_overlap(client):
    created = create_endpoint(client).json()

    rotated = client.post(f"/webhooks/{created['id']}/rotate_secret/")

    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    [previous] = endpoint.previous_secrets
    assert previous["secret"] == created["secret"]
    assert datetime.fromisoformat(previous["expires_at"]) > timezone.now()


def test_rotations_past_the_limit_of_secrets_in_their_overlap_are_a_conflict(client):
    created = create_endpoint(client).json()
    issued = [created["secret"]]
    for _ in range(MAX_PREVIOUS_SECRETS):
        rotated = client.post(f"/webhooks/{created['id']}/rotate_secret/")
        assert rotated.status_code == 200
        issued.append(rotated.json()["secret"])

    refused = client.post(f"/webhooks/{created['id']}/rotate_secret/")

    assert refused.status_code == 409
    assert refused.json()["code"] == "secret_rotation_limit"
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.secret == issued[-1]
    assert [p["secret"] for p in endpoint.previous_secrets] == issued[-2::-1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["customer.exploded"]}, "events"),
        ({"events": []}, "events"),
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "http://user:pw@127.0.0.1/hook"}, "url"),
        ({"url": "http://127.0.0.1:99999/hook"}, "url"),
    ],
)
def test_bad_endpoints_are_refused_on_the_field(client, body, field):
    response = create_endpoint(client, **body)

    assert response.status_code == 400
    assert field in response.json()


def test_an_event_type_named_twice_is_subscribed_once(client):
    created = create_endpoint(
        client, events=["invoice.created", "customer.created", "invoice.created"]
    )
    assert created.status_code == 201
    assert created.json()["events"] == ["invoice.created", "customer.created"]

    updated = client.patch(
        f"/webhooks/{created.json()['id']}/",
        {"events": ["customer.created", "customer.created"]},
        format="json",
    )

    assert updated.status_code == 200
    assert updated.json()["events"] == ["customer.created"]
    endpoint = WebhookEndpoint.objects.get(pk=created.json()["id"])
    assert endpoint.events == ["customer.created"]


def test_live_mode_needs_https(tenant):
    response = tenant.client.post(
        "/webhooks/", {"url": "http://example.com/hook", "events": ["*"]}, format="json"
    )
    assert response.status_code == 400
    assert "https" in response.json()["url"][0]


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(tenant, url):
    response = tenant.client.post("/webhooks/", {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 400
    assert "non-public" in response.json()["url"][0]


def test_test_action_queues_a_ping_for_that_endpoint_only(client, test_tenant):
    first = create_endpoint(client).json()
    create_endpoint(client)

    response = client.post(f"/webhooks/{first['id']}/test/")

    assert response.status_code == 202
    ping = Event.objects.get(type="ping")
    assert list(Delivery.objects.filter(event=ping).values_list("endpoint_id", flat=True)) == [
        first["id"]
    ]


def test_a_ping_is_never_published_before_it_was_created(client):
    endpoint = create_endpoint(client).json()
    client.post(f"/webhooks/{endpoint['id']}/test/")
    ping = Event.objects.get(type="ping")

    logged = client.get(f"/events/log/{ping.id}/").json()

    published = datetime.fromisoformat(logged["published_at"])
    assert published >= datetime.fromisoformat(logged["created"])


def test_redelivering_a_ping_sends_it_to_its_endpoint_only(client):
    tested = create_endpoint(client, events=["*"]).json()
    other = create_endpoint(client, events=["*"]).json()
    client.post(f"/webhooks/{tested['id']}/test/")
    ping = Event.objects.get(type="ping")

    everywhere = client.post(f"/events/log/{ping.id}/redeliver/", {}, format="json")
    elsewhere = client.post(
        f"/events/log/{ping.id}/redeliver/", {"endpoint": other["id"]}, format="json"
    )

    assert everywhere.status_code == 202, everywhere.json()
    assert [d["endpoint"] for d in everywhere.json()["deliveries"]] == [tested["id"]]
    assert elsewhere.status_code == 400
    assert "endpoint" in elsewhere.json()
    assert not Delivery.objects.filter(endpoint_id=other["id"]).exists()


def test_testing_a_disabled_endpoint_is_a_conflict_and_queues_nothing(client):
    endpoint = create_endpoint(client).json()
    client.post(f"/webhooks/{endpoint['id']}/disable/")

    response = client.post(f"/webhooks/{endpoint['id']}/test/")

    assert response.status_code == 409
    assert response.json()["code"] == "webhook_endpoint_disabled"
    assert not Delivery.objects.filter(endpoint_id=endpoint["id"]).exists()


def test_enable_reactivates_a_disabled_endpoint(client):
    created = create_endpoint(client).json()
    WebhookEndpoint.objects.filter(pk=created["id"]).update(
        active=False, disabled_reason="The receiver answered 410 Gone."
    )

    response = client.post(f"/webhooks/{created['id']}/enable/")

    assert response.status_code == 200
    assert response.json()["active"] is True
    assert response.json()["disabled_reason"] == ""


def test_disable_stops_an_endpoint_until_it_is_enabled(client):
    created = create_endpoint(client).json()

    response = client.post(f"/webhooks/{created['id']}/disable/")
    again = client.post(f"/webhooks/{created['id']}/disable/")

    assert response.status_code == again.status_code == 200
    assert (response.json()["active"], response.json()["disabled_reason"]) == (
        False,
        "Disabled through the API.",
    )
    assert (
        Event.objects.filter(type="webhook_endpoint.disabled", object_id=created["id"]).count() == 1
    )
    assert client.post(f"/webhooks/{created['id']}/enable/").json()["active"] is True


def test_active_is_written_on_create_and_update_as_disable_and_enable(client):
    created = create_endpoint(client, active=False)
    endpoint_id = created.json()["id"]

    assert created.status_code == 201, created.json()
    assert (created.json()["active"], created.json()["disabled_reason"]) == (
        False,
        "Disabled through the API.",
    )
    enabled = client.patch(f"/webhooks/{endpoint_id}/", {"active": True}, format="json")
    assert (enabled.json()["active"], enabled.json()["disabled_reason"]) == (True, "")
    disabled = client.put(f"/webhooks/{endpoint_id}/", {"active": False}, format="json")
    assert disabled.json()["active"] is False
    assert WebhookEndpoint.objects.get(pk=endpoint_id).active is False
    unchanged = client.put(f"/webhooks/{endpoint_id}/", disabled.json(), format="json")
    assert unchanged.status_code == 200, unchanged.json()
    assert (
        Event.objects.filter(type="webhook_endpoint.disabled", object_id=endpoint_id).count() == 2
    )


def test_event_log_lists_events_with_their_deliveries_and_redelivers(client, test_tenant):
    endpoint = create_endpoint(client).json()
    customer = client.post(
        "/customers/", {"name": "ACME", "country": "CL", "tax_id": "76086428-5"}, format="json"
    ).json()
    event = Event.objects.get(object_id=customer["id"], type="customer.created")
    Delivery.objects.create(
        endpoint_id=endpoint["id"],
        event=event,
        object_id=event.object_id,
        sequence=1,
        status="failed",
        attempts=10,
    )

    log = client.get("/events/log/", {"type": "customer.created"}).json()
    redelivered = client.post(f"/events/log/{event.id}/redeliver/", {}, format="json")

    assert [e["id"] for e in log["results"]] == [event.id]
    assert log["results"][0]["sequence"] == 1
    assert log["results"][0]["deliveries"][0]["status"] == "failed"
    assert redelivered.status_code == 202
    assert redelivered.json()["deliveries"][0]["status"] == "pending"


def _record_batch(tenant, object_ids, per_object):
    from django.db import transaction

    from billing.services.events import NewEvent, event_record_many

    # One transaction, one timestamp: the events tie on `created`.
    with transaction.atomic():
        event_record_many(
            workspace=tenant.workspace,
            test_mode=True,
            events=[
                NewEvent(type="customer.updated", object_id=object_id, data={"n": n})
                for n in range(per_object)
                for object_id in object_ids
            ],
        )


def _every_page(client, **params):
    seen, page = [], 1
    while True:
        body = client.get("/events/log/", {**params, "page": page, "page_size": 4}).json()
        seen += [(e["id"], e["object_id"], e["sequence"]) for e in body["results"]]
        if not body["next"]:
            return seen
        page += 1


@pytest.mark.parametrize(("ordering", "newest_first"), [(None, True), ("created", False)])
def test_the_event_log_follows_each_objects_sequence_across_pages(
    client, test_tenant, ordering, newest_first
):
    _record_batch(test_tenant, ["cus_A", "cus_B"], per_object=5)
    _record_batch(test_tenant, ["cus_A"], per_object=3)

    seen = _every_page(client, **({"ordering": ordering} if ordering else {}))

    assert len(seen) == len({event_id for event_id, _, _ in seen}) == 13
    for object_id, count in (("cus_A", 8), ("cus_B", 5)):
        sequences = [sequence for _, o, sequence in seen if o == object_id]
        expected = list(range(1, count + 1))
        assert sequences == (expected[::-1] if newest_first else expected)


@pytest.mark.parametrize(
    ("term", "expected"),
    [("invoice.paid", ["paid"]), ("cus_01", ["customer"]), ("customer", ["customer"])],
)
def test_event_log_searches_type_and_object_id(client, test_tenant, term, expected):
    scope = {"workspace": test_tenant.workspace, "test_mode": True}
    events = {
        "customer": EventFactory(**scope, type="customer.updated", object_id="cus_01ABC"),
        "paid": EventFactory(**scope, type="invoice.paid", object_id="inv_01DEF"),
    }

    log = client.get("/events/log/", {"search": term}).json()

    assert [e["id"] for e in log["results"]] == [events[name].id for name in expected]


def test_redeliver_to_an_endpoint_of_another_workspace_is_400_on_the_field(client, other_tenant):
    create_endpoint(client)
    created = client.post(
        "/customers/", {"name": "ACME", "country": "CL", "tax_id": "76086428-5"}, format="json"
    ).json()
    event = Event.objects.get(object_id=created["id"])
    foreign = WebhookEndpoint.objects.create(
        workspace=other_tenant.workspace,
        test_mode=False,
        url="https://example.com",
        events=["*"],
        secret="whsec_x",
    )

    response = client.post(
        f"/events/log/{event.id}/redeliver/", {"endpoint": foreign.id}, format="json"
    )

    assert response.status_code == 400
    assert "endpoint" in response.json()
    assert not Delivery.objects.filter(endpoint=foreign).exists()


def test_redeliver_to_an_endpoint_not_subscribed_to_the_event_is_400_on_the_field(client):
    invoices_only = create_endpoint(client, events=["invoice.paid"]).json()
    created = client.post(
        "/customers/", {"name": "ACME", "country": "CL", "tax_id": "76086428-5"}, format="json"
    ).json()
    event = Event.objects.get(object_id=created["id"], type="customer.created")

    response = client.post(
        f"/events/log/{event.id}/redeliver/", {"endpoint": invoices_only["id"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "endpoint": [f"Endpoint {invoices_only['id']} does not subscribe to customer.created."]
    }
    assert not Delivery.objects.filter(endpoint_id=invoices_only["id"]).exists()


def test_redeliver_to_a_disabled_endpoint_subscribed_to_the_event_sends_it(client):
    endpoint = create_endpoint(client).json()
    client.post(f"/webhooks/{endpoint['id']}/disable/")
    created = client.post(
        "/customers/", {"name": "ACME", "country": "CL", "tax_id": "76086428-5"}, format="json"
    ).json()
    event = Event.objects.get(object_id=created["id"], type="customer.created")

    response = client.post(
        f"/events/log/{event.id}/redeliver/", {"endpoint": endpoint["id"]}, format="json"
    )

    assert response.status_code == 202, response.json()
    assert Delivery.objects.get(endpoint_id=endpoint["id"]).status == "pending"
