"""Delivery to a real HTTP receiver on loopback, driven through the services with the
clock moved by time-machine (so signature timestamps stay consistent with "now")."""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from billing.models import Event
from customers.services import customer_create, customer_update
from tests.receiver import Reply, running_receiver
from webhooks import sender, services
from webhooks.choices import RETRY_SCHEDULE, DeliveryStatus
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from webhooks.sender import post

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def make_endpoint(tenant, url, events=("*",)) -> WebhookEndpoint:
    return services.endpoint_create(
        workspace=tenant.workspace, test_mode=True, url=url, events=list(events)
    )


def record_customer_event(tenant):
    from billing.models import Country

    customer = customer_create(
        workspace=tenant.workspace,
        test_mode=True,
        name="ACME SpA",
        country=Country.objects.get(code="CL"),
        tax_id="76086428-5",
    )
    return customer, Event.objects.get(object_id=customer.id, type="customer.created")


def attempt(delivery_id):
    return services.delivery_attempt(delivery_id=delivery_id, clock=timezone.now, transport=post)


def deliver_until_settled(delivery_id, traveller, max_attempts=20):
    """Attempt, then jump the clock to each scheduled retry, until nothing is left."""
    for _ in range(max_attempts):
        outcome = attempt(delivery_id)
        assert outcome is not None
        if outcome.retry_at is None:
            return
        traveller.move_to(outcome.retry_at + timedelta(milliseconds=1))
    raise AssertionError("delivery never settled")


def test_a_failing_receiver_is_retried_until_it_succeeds_with_one_webhook_id(test_tenant):
    script = [Reply(500), Reply(503), Reply(502)]
    with time_machine.travel(START, tick=True) as traveller, running_receiver(script) as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

        deliver_until_settled(delivery_id, traveller)

        delivery = Delivery.objects.get(pk=delivery_id)
        assert delivery.status == DeliveryStatus.SUCCEEDED
        assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 502, 200]
        assert receiver.completed == 4
        ids = {r.headers["webhook-id"] for r in receiver.received}
        assert ids == {event.id}
        last = receiver.received[-1]
        # Verifies with the standardwebhooks library (raises on a bad signature) …
        payload = Webhook(endpoint.secret).verify(last.body, last.headers)
        assert payload["event"] == "customer.created"
        assert payload["object_id"] == event.object_id
        assert payload["sequence"] == 1
        assert payload["data"]["tax_id"] == "76086428-5"
        # … and with a plain HMAC of event type + object id (Piriod's header).
        expected = hmac.new(
            endpoint.secret.encode(), f"customer.created{event.object_id}".encode(), hashlib.sha256
        ).hexdigest()
        assert last.headers["x-piriod-signature"] == expected


def test_amounts_are_delivered_as_json_numbers_in_the_signed_body(test_tenant):
    from billing.models import DocumentType
    from invoices.services.invoices import invoice_create

    with time_machine.travel(START, tick=True), running_receiver() as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url, events=["invoice.created"])
        customer, _ = record_customer_event(test_tenant)
        invoice = invoice_create(
            workspace=test_tenant.workspace,
            test_mode=True,
            customer=customer,
            document=DocumentType.objects.get(pk=33),
            date=START.date(),
            lines=[{"name": "Horas", "amount": Decimal("1000.5"), "quantity": Decimal("2.5")}],
        )
        event = Event.objects.get(object_id=invoice.id, type="invoice.created")
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        attempt(delivery_id)

        received = receiver.received[0]
        Webhook(endpoint.secret).verify(received.body, received.headers)
        data = json.loads(received.body, parse_float=Decimal)["data"]
        # 2.5 × 1,000.5 = 2,501.25 → 2,501 CLP; IVA 475.19 → 475; every digit as stored.
        assert (data["lines"][0]["quantity"], data["lines"][0]["amount"]) == (
            Decimal("2.5"), Decimal("1000.5"),
        )  # fmt: skip
        assert (data["subtotal"], data["tax"], data["total"]) == (2501, 475, 2976)
        assert b'"quantity":2.5,' in received.body
        assert b'"total":2976,' in received.body


def test_a_tampered_body_does_not_verify(test_tenant):
    with time_machine.travel(START, tick=True), running_receiver() as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        attempt(delivery_id)
        received = receiver.received[0]
        tampered = received.body.replace(b"ACME", b"EVIL")
        with pytest.raises(WebhookVerificationError):
            Webhook(endpoint.secret).verify(tampered, received.headers)


def test_retry_waits_follow_the_schedule(test_tenant):
    with (
        time_machine.travel(START, tick=False) as traveller,
        running_receiver(default=Reply(500)) as receiver,
    ):
        make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        for expected_wait in RETRY_SCHEDULE[:3]:
            outcome = attempt(delivery_id)
            wait = outcome.retry_at - timezone.now()
            assert expected_wait * 0.9 <= wait <= expected_wait * 1.1
            traveller.move_to(outcome.retry_at)


def test_retry_after_is_honoured(test_tenant):
    script = [Reply(503, headers={"Retry-After": "120"})]
    with time_machine.travel(START, tick=False), running_receiver(script) as receiver:
        make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        outcome = attempt(delivery_id)
        assert outcome.retry_at - timezone.now() == timedelta(seconds=120)


@pytest.mark.parametrize(
    "header", ["99999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT", "soon", "-5"]
)
def test_any_retry_after_a_receiver_sends_is_recorded_as_a_bounded_retry(test_tenant, header):
    script = [Reply(503, headers={"Retry-After": header})]
    with time_machine.travel(START, tick=False), running_receiver(script) as receiver:
        make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        outcome = attempt(delivery_id)

        assert RETRY_SCHEDULE[0] * 0.9 <= outcome.retry_at - timezone.now() <= timedelta(hours=24)
    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 503)
    assert DeliveryAttempt.objects.get(delivery=delivery).status_code == 503


def test_an_endpoint_deleted_while_its_delivery_is_sent_spoils_no_other_outcome(test_tenant):
    with running_receiver(default=Reply(200)) as ok, running_receiver(default=Reply(500)) as bad:
        kept = make_endpoint(test_tenant, ok.url)
        deleted = make_endpoint(test_tenant, bad.url)
        _, event = record_customer_event(test_tenant)
        ids = services.event_fan_out(event_id=event.id, now=timezone.now())
        requests = services.deliveries_start(delivery_ids=ids, now=timezone.now())
        services.endpoint_delete(endpoint=deleted)  # while the requests are on their way

        outcome = services.deliveries_finish(
            attempts=[(request, post(request)) for request in requests], now=timezone.now()
        )

    assert outcome.retries == {}
    assert Delivery.objects.get(endpoint=kept).status == DeliveryStatus.SUCCEEDED
    assert not Delivery.objects.filter(endpoint_id=deleted.id).exists()


def test_410_disables_the_endpoint_at_once(test_tenant):
    with time_machine.travel(START, tick=True), running_receiver([Reply(410)]) as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

        outcome = attempt(delivery_id)

        endpoint.refresh_from_db()
        assert outcome.retry_at is None
        assert endpoint.active is False
        assert "410" in endpoint.disabled_reason
        assert Event.objects.filter(
            type="webhook_endpoint.disabled", object_id=endpoint.id
        ).exists()
        # Nothing more goes to a disabled endpoint.
        assert attempt(delivery_id) is None
        assert len(receiver.received) == 1


def test_exhausted_retries_disable_the_endpoint_after_about_three_days(test_tenant):
    with (
        time_machine.travel(START, tick=True) as traveller,
        running_receiver(default=Reply(500)) as receiver,
    ):
        endpoint = make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

        deliver_until_settled(delivery_id, traveller)

        delivery = Delivery.objects.get(pk=delivery_id)
        endpoint.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts == len(RETRY_SCHEDULE) + 1 == len(receiver.received)
        span = timezone.now() - START
        assert timedelta(days=2.7) < span < timedelta(days=3.5)
        assert endpoint.active is False
        assert delivery.id in endpoint.disabled_reason
        assert Event.objects.filter(
            type="webhook_endpoint.disabled", object_id=endpoint.id
        ).exists()


def test_a_redelivered_event_is_retried_on_a_fresh_schedule(test_tenant):
    with (
        time_machine.travel(START, tick=True) as traveller,
        running_receiver(default=Reply(500)) as receiver,
    ):
        endpoint = make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        deliver_until_settled(delivery_id, traveller)
        assert Delivery.objects.get(pk=delivery_id).status == DeliveryStatus.FAILED

        endpoint = services.endpoint_enable(endpoint=endpoint, now=timezone.now())
        services.event_redeliver(event=event, now=timezone.now(), endpoint=endpoint)
        # The receiver still fails: the redelivery is retried from the schedule's start,
        # not given up (and its endpoint disabled) on its first failure.
        outcome = attempt(delivery_id)

        assert outcome is not None and outcome.retry_at is not None
        assert outcome.retry_at - timezone.now() < RETRY_SCHEDULE[0] * 1.2
        delivery = Delivery.objects.get(pk=delivery_id)
        endpoint.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempts == len(RETRY_SCHEDULE) + 2
        assert endpoint.active is True

        receiver.default = Reply(200)
        traveller.move_to(outcome.retry_at + timedelta(milliseconds=1))
        deliver_until_settled(delivery_id, traveller)
        assert Delivery.objects.get(pk=delivery_id).status == DeliveryStatus.SUCCEEDED


def test_three_consecutive_failures_flag_the_endpoint_and_a_success_clears_it(test_tenant):
    script = [Reply(500), Reply(500), Reply(500)]
    with time_machine.travel(START, tick=True) as traveller, running_receiver(script) as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        for _ in range(3):
            outcome = attempt(delivery_id)
            traveller.move_to(outcome.retry_at + timedelta(milliseconds=1))
        endpoint.refresh_from_db()
        assert endpoint.failing is True

        attempt(delivery_id)

        endpoint.refresh_from_db()
        assert endpoint.failing is False
        assert endpoint.consecutive_failures == 0


def test_redirects_are_not_followed(test_tenant):
    with (
        time_machine.travel(START, tick=True),
        running_receiver() as target,
        running_receiver([Reply(302, headers={"Location": "http://127.0.0.1:1/x"})]) as receiver,
    ):
        receiver.script[0].headers["Location"] = target.url
        make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

        outcome = attempt(delivery_id)

        assert outcome.retry_at is not None
        assert Delivery.objects.get(pk=delivery_id).last_status_code == 302
        assert target.received == []


def test_a_cookie_a_receiver_sets_is_not_sent_back(test_tenant):
    """Endpoints on one receiver host share its connections, never its cookies (they
    may be different workspaces'): a delivery carries only its own headers."""
    cookie = Reply(headers={"Set-Cookie": "session=abc; Path=/"})
    with time_machine.travel(START, tick=True), running_receiver(default=cookie) as receiver:
        make_endpoint(test_tenant, receiver.url)
        for _ in range(3):
            _, event = record_customer_event(test_tenant)
            [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
            attempt(delivery_id)

    assert [r.headers.get("cookie") for r in receiver.received] == [None, None, None]
    agents = {r.headers["user-agent"] for r in receiver.received}
    assert agents == {f"python-httpx/{httpx.__version__}"}


def test_a_receiver_slower_than_the_timeout_is_cut_off(test_tenant, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    sender._named_sender.cache_clear()  # a receiver's sender is made with the setting
    try:
        with running_receiver([Reply(200, delay=3)]) as receiver:
            make_endpoint(test_tenant, receiver.url)
            _, event = record_customer_event(test_tenant)
            [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

            outcome = attempt(delivery_id)
    finally:
        sender._named_sender.cache_clear()

    assert outcome.retry_at is not None
    last = DeliveryAttempt.objects.get(delivery_id=delivery_id)
    assert (last.error, last.status_code) == ("timeout", None)
    assert last.duration_ms < 3000


def test_a_slow_name_lookup_counts_within_the_attempts_time_limit(
    test_tenant, settings, monkeypatch
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    sender._named_sender.cache_clear()  # a receiver's sender is made with the setting
    resolve = socket.getaddrinfo

    def slow_resolver(host, *args, **kwargs):
        if host == "receiver.test":  # a name the resolver answers, but late
            time.sleep(3)
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    try:
        with running_receiver([Reply(200)]) as receiver:
            monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
            make_endpoint(test_tenant, receiver.url.replace("127.0.0.1", "receiver.test"))
            _, event = record_customer_event(test_tenant)
            [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

            outcome = attempt(delivery_id)
    finally:
        sender._named_sender.cache_clear()

    assert outcome.retry_at is not None
    last = DeliveryAttempt.objects.get(delivery_id=delivery_id)
    assert (last.error, last.status_code) == ("timeout", None)
    assert last.duration_ms < 2000
    assert receiver.received == []


def test_a_receiver_that_never_finishes_its_answer_is_cut_off(test_tenant, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    sender._named_sender.cache_clear()  # a receiver's sender is made with the setting
    try:
        # Each byte comes well within the read timeout; the whole answer would take 20 s.
        script = [Reply(200, dripped_bytes=100, drip=0.2)]
        with running_receiver(script) as receiver:
            make_endpoint(test_tenant, receiver.url)
            _, event = record_customer_event(test_tenant)
            [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

            attempt(delivery_id)
    finally:
        sender._named_sender.cache_clear()

    last = DeliveryAttempt.objects.get(delivery_id=delivery_id)
    assert last.duration_ms < 2000
    # The receiver answered 200: the delivery succeeded, whatever its body did after.
    assert (last.status_code, Delivery.objects.get(pk=delivery_id).status) == (200, "succeeded")


def test_a_receiver_that_drips_its_headers_is_cut_off_and_retried(test_tenant, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    sender._named_sender.cache_clear()  # a receiver's sender is made with the setting
    try:
        # Each byte of the status line and headers comes well within the read timeout;
        # the whole head would take about 4 s.
        script = [Reply(200, dripped_head=0.1), Reply(200)]
        with (
            time_machine.travel(START, tick=True) as traveller,
            running_receiver(script) as receiver,
        ):
            make_endpoint(test_tenant, receiver.url)
            _, event = record_customer_event(test_tenant)
            [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

            first = attempt(delivery_id)
            cut_off = DeliveryAttempt.objects.get(delivery_id=delivery_id)
            assert (cut_off.error, cut_off.status_code) == ("timeout", None)
            assert cut_off.duration_ms < 2000
            assert first.retry_at is not None
            wait = first.retry_at - cut_off.attempted_at
            assert RETRY_SCHEDULE[0] * 0.9 <= wait <= RETRY_SCHEDULE[0] * 1.1
            assert Delivery.objects.get(pk=delivery_id).status == DeliveryStatus.PENDING

            traveller.move_to(first.retry_at + timedelta(milliseconds=1))
            second = attempt(delivery_id)
    finally:
        sender._named_sender.cache_clear()

    assert second is not None and second.retry_at is None
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [a.status_code for a in delivery.attempt_log.all()] == [None, 200]


def test_rotation_signs_with_both_secrets_for_the_overlap_only(test_tenant):
    with time_machine.travel(START, tick=True) as traveller, running_receiver() as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        old_secret = endpoint.secret
        endpoint = services.endpoint_rotate_secret(endpoint=endpoint, now=timezone.now())
        customer, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        attempt(delivery_id)
        during = receiver.received[-1]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        Webhook(old_secret).verify(during.body, during.headers)
        Webhook(endpoint.secret).verify(during.body, during.headers)

        traveller.shift(timedelta(hours=24, minutes=1))
        customer_update(customer=customer, name="ACME Chile SpA")
        update_event = Event.objects.get(object_id=customer.id, type="customer.updated")
        [delivery_id] = services.event_fan_out(event_id=update_event.id, now=timezone.now())
        attempt(delivery_id)
        after = receiver.received[-1]
        Webhook(endpoint.secret).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old_secret).verify(after.body, after.headers)


def test_rotating_twice_keeps_signing_with_every_secret_still_in_its_overlap(test_tenant):
    with time_machine.travel(START, tick=True) as traveller, running_receiver() as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        first = endpoint.secret
        second = services.endpoint_rotate_secret(endpoint=endpoint, now=timezone.now()).secret
        traveller.shift(timedelta(hours=1))
        third = services.endpoint_rotate_secret(endpoint=endpoint, now=timezone.now()).secret
        customer, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        attempt(delivery_id)
        during = receiver.received[-1]
        assert len(during.headers["webhook-signature"].split(" ")) == 3
        for secret in (first, second, third):
            Webhook(secret).verify(during.body, during.headers)

        # The first secret's overlap (24 h from the first rotation) is over; the second's
        # (24 h from the second rotation) is not.
        traveller.shift(timedelta(hours=23, minutes=30))
        customer_update(customer=customer, name="ACME Chile SpA")
        update_event = Event.objects.get(object_id=customer.id, type="customer.updated")
        [delivery_id] = services.event_fan_out(event_id=update_event.id, now=timezone.now())
        attempt(delivery_id)
        after = receiver.received[-1]
        assert len(after.headers["webhook-signature"].split(" ")) == 2
        Webhook(second).verify(after.body, after.headers)
        Webhook(third).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(first).verify(after.body, after.headers)


def test_only_subscribed_active_endpoints_get_a_delivery(test_tenant, other_tenant):
    with running_receiver() as receiver:
        subscribed = make_endpoint(test_tenant, receiver.url, events=["customer.created"])
        make_endpoint(test_tenant, receiver.url, events=["invoice.paid"])
        inactive = make_endpoint(test_tenant, receiver.url)
        WebhookEndpoint.objects.filter(pk=inactive.pk).update(active=False)
        _, event = record_customer_event(test_tenant)

        services.event_fan_out(event_id=event.id, now=timezone.now())
        services.event_fan_out(event_id=event.id, now=timezone.now())  # a re-run adds nothing

        assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [subscribed.id]


def test_a_fanned_out_delivery_is_the_row_the_model_would_save(test_tenant):
    # The fan-out writes its rows in SQL of its own: each column as a new Delivery with
    # the model's defaults would have it, so a field added later cannot be left out.
    with running_receiver() as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        now = timezone.now()

        [delivery_id] = services.event_fan_out(event_id=event.id, now=now)

        saved = Delivery.objects.get(pk=delivery_id)
        expected = Delivery(
            endpoint=endpoint,
            event=event,
            object_id=event.object_id,
            sequence=event.sequence,
            next_attempt_at=now,
        )
        for field in Delivery._meta.concrete_fields:
            if field.name not in ("id", "created_at", "updated_at"):
                assert getattr(saved, field.attname) == getattr(expected, field.attname), field
        assert saved.id.startswith("dlv_") and len(saved.id) == len(expected.id)
        assert saved.created_at == saved.updated_at == now


def test_a_later_event_waits_for_the_earlier_one_of_the_same_object(test_tenant):
    with (
        time_machine.travel(START, tick=True) as traveller,
        running_receiver([Reply(500)]) as receiver,
    ):
        make_endpoint(test_tenant, receiver.url)
        customer, created = record_customer_event(test_tenant)
        customer_update(customer=customer, name="Renamed")
        updated = Event.objects.get(object_id=customer.id, type="customer.updated")
        # Published out of order: the update first.
        second = services.event_fan_out(event_id=updated.id, now=timezone.now())
        assert attempt(second[0]) is None  # the creation has not even been published
        services.event_fan_out(event_id=created.id, now=timezone.now())
        [first_id] = [
            d
            for d in services.first_open_deliveries(
                endpoint=WebhookEndpoint.objects.get(), object_id=customer.id
            )
        ]
        update_delivery = Delivery.objects.get(event=updated)
        assert attempt(update_delivery.id) is None  # the creation is still open

        outcome = attempt(first_id)  # fails once
        traveller.move_to(outcome.retry_at + timedelta(milliseconds=1))
        assert attempt(update_delivery.id) is None
        outcome = attempt(first_id)
        assert outcome.send_now == [update_delivery.id]
        attempt(update_delivery.id)

        sequences = [json.loads(r.body)["sequence"] for r in receiver.received]
        assert sequences == [1, 1, 2]


def test_publishing_an_earlier_event_an_endpoint_skips_lets_the_later_one_go(test_tenant):
    # The creation gets no delivery to this endpoint, yet its publication is what the
    # update's delivery waits for: publishing it must hand the update on, not leave it
    # to the next sweep.
    with running_receiver() as receiver:
        make_endpoint(test_tenant, receiver.url, events=["customer.updated"])
        customer, created = record_customer_event(test_tenant)
        customer_update(customer=customer, name="Renamed")
        updated = Event.objects.get(object_id=customer.id, type="customer.updated")
        [update_delivery] = services.event_fan_out(event_id=updated.id, now=timezone.now())
        assert attempt(update_delivery) is None  # the creation has not been published

        assert services.event_fan_out(event_id=created.id, now=timezone.now()) == [update_delivery]
        attempt(update_delivery)
        assert [json.loads(r.body)["sequence"] for r in receiver.received] == [2]


def test_a_batch_of_events_goes_out_together_and_in_order_per_object(test_tenant):
    with running_receiver() as receiver:
        endpoints = [make_endpoint(test_tenant, receiver.url) for _ in range(2)]
        customer, _ = record_customer_event(test_tenant)
        customer_update(customer=customer, name="Renamed")
        newest_first = Event.objects.filter(object_id=customer.id).order_by("-sequence")

        first = services.events_fan_out(
            event_ids=[event.id for event in newest_first], now=timezone.now()
        )
        assert Delivery.objects.count() == 4
        # Each endpoint's update waits for its creation.
        first_sequences = Delivery.objects.filter(pk__in=first).values_list("sequence", flat=True)
        assert sorted(first_sequences) == [1, 1]
        outcome = services.deliveries_attempt(
            delivery_ids=first, clock=timezone.now, transport=post
        )
        services.deliveries_attempt(
            delivery_ids=outcome.send_now, clock=timezone.now, transport=post
        )

        for endpoint in endpoints:
            sequences = []
            for request in receiver.received:
                try:
                    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
                except WebhookVerificationError:
                    continue  # signed for the other endpoint
                sequences.append(payload["sequence"])
            assert sequences == [1, 2]
        assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
        assert [json.loads(r.body)["sequence"] for r in receiver.received] == [1, 1, 2, 2]


def test_publishing_leases_what_can_go_now_in_the_fan_outs_transaction(test_tenant):
    with running_receiver() as receiver:
        endpoint = make_endpoint(test_tenant, receiver.url)
        customer, _ = record_customer_event(test_tenant)
        customer_update(customer=customer, name="Renamed")
        events = Event.objects.filter(object_id=customer.id).order_by("sequence")

        publication = services.events_publish(
            event_ids=[event.id for event in events], now=timezone.now()
        )

        # Only the creation is leased: the update waits for it.
        [request] = publication.started
        assert publication.ready == []
        leased = Delivery.objects.get(pk=request.delivery_id)
        assert (leased.sequence, leased.status, leased.attempts) == (1, "sending", 1)
        assert request.attempt == 1 and request.endpoint_id == endpoint.id
        waiting = Delivery.objects.get(sequence=2)
        assert (waiting.status, waiting.attempts) == ("pending", 0)
        # A second publication finds nothing new to lease.
        again = services.events_publish(
            event_ids=[event.id for event in events], now=timezone.now()
        )
        assert again.started == [] and again.ready == []

        outcome = services.deliveries_attempt(
            delivery_ids=[], started=publication.started, clock=timezone.now, transport=post
        )
        assert outcome.send_now == [waiting.id]
        services.deliveries_attempt(
            delivery_ids=outcome.send_now, clock=timezone.now, transport=post
        )
        assert [json.loads(r.body)["sequence"] for r in receiver.received] == [1, 2]
        Webhook(endpoint.secret).verify(receiver.received[0].body, receiver.received[0].headers)
        assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_publication_takes_waiting_events_along_up_to_a_leases_worth(test_tenant):
    size = services.deliveries_batch_size()
    with running_receiver() as receiver:
        make_endpoint(test_tenant, receiver.url)
        waiting = Event.objects.bulk_create(
            Event(
                workspace=test_tenant.workspace,
                test_mode=True,
                type="customer.updated",
                object_id=f"cus_waiting{i}",
                sequence=1,
                data={"i": i},
            )
            for i in range(size + 2)
        )
        named = waiting[-1]

        publication = services.events_publish(event_ids=[named.id], now=timezone.now())

        taken = Delivery.objects.filter(pk__in=[r.delivery_id for r in publication.started])
        assert publication.ready == [] and taken.count() == size
        assert taken.filter(event=named).exists()  # the named event first, then the oldest
        assert Event.objects.filter(published_at__isnull=False).count() == size
        # The message of an event already taken takes only the two still waiting.
        again = services.events_publish(event_ids=[taken[0].event_id], now=timezone.now())
        assert len(again.started) == 2 and again.ready == []
        assert not {r.delivery_id for r in again.started} & {d.id for d in taken}
        last = services.events_publish(event_ids=[named.id], now=timezone.now())
        assert last.started == [] and last.ready == []

        for started in (publication.started, again.started):
            services.deliveries_attempt(
                delivery_ids=[], started=started, clock=timezone.now, transport=post
            )
        assert len(receiver.received) == size + 2
        assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_batch_sends_different_objects_to_one_endpoint_side_by_side(test_tenant):
    with running_receiver() as receiver:
        make_endpoint(test_tenant, receiver.url)
        events = Event.objects.bulk_create(
            Event(
                workspace=test_tenant.workspace,
                test_mode=True,
                type="customer.updated",
                object_id=f"cus_side{i}",
                sequence=1,
                data={"i": i},
            )
            for i in range(2)
        )
        ready = services.events_fan_out(event_ids=[e.id for e in events], now=timezone.now())
        # Each call waits for the other to start: sent one after the other, the first
        # would break the barrier instead of passing it.
        both_in_flight = threading.Barrier(2, timeout=10)

        def post_when_both_in_flight(request):
            both_in_flight.wait()
            return post(request)

        services.deliveries_attempt(
            delivery_ids=ready, clock=timezone.now, transport=post_when_both_in_flight
        )

        assert len(receiver.received) == 2
        assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_publication_with_nothing_waiting_is_one_statement(
    test_tenant, django_assert_num_queries
):
    event = Event.objects.create(
        workspace=test_tenant.workspace,
        test_mode=True,
        type="customer.updated",
        object_id="cus_once",
        sequence=1,
        data={},
    )
    services.events_publish(event_ids=[event.id], now=timezone.now())
    assert not Event.objects.filter(published_at__isnull=True).exists()

    # The message of an event already taken: no transaction, no lock, nothing taken.
    with django_assert_num_queries(1):
        again = services.events_publish(event_ids=[event.id], now=timezone.now())

    assert again.started == [] and again.ready == []


def test_the_body_s_created_is_written_as_the_api_writes_it(test_tenant):
    with time_machine.travel(START, tick=True), running_receiver() as receiver:
        make_endpoint(test_tenant, receiver.url)
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        attempt(delivery_id)

        created = json.loads(receiver.received[0].body)["created"]
        logged = test_tenant.client.get(f"/events/log/{event.id}/").json()["created"]
        assert created == logged
        assert created.endswith("Z")
