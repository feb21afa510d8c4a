"""Where a webhook may be sent: no address that leads into a private network, however
it is spelled, checked again at each attempt and connected to as checked."""

import socket
import threading
import time

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.receiver import running_receiver
from webhooks import services, url_safety
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.tests.test_delivery import attempt, make_endpoint, record_customer_event
from webhooks.url_safety import UnsafeUrl, check_webhook_url, webhook_target

EMBEDDING_PRIVATE_IPV4 = [
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://[2002:a9fe:a9fe::]/latest",  # 6to4 of 169.254.169.254
    "https://[::127.0.0.1]/hook",  # IPv4-compatible
    "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    "https://[64:ff9b:1::a00:1]/hook",  # local-use NAT64
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "https://[::ffff:192.168.1.1]/hook",
]


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize("url", EMBEDDING_PRIVATE_IPV4)
def test_ipv6_addresses_embedding_a_private_ipv4_are_refused(url):
    with pytest.raises(UnsafeUrl, match="non-public"):
        check_webhook_url(url, test_mode=False)


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize(
    "url",
    [
        "https://[2002:808:808::]/hook",  # 6to4 of 8.8.8.8
        "https://[64:ff9b::808:808]/hook",  # NAT64 of 8.8.8.8
        "https://[2606:4700:4700::1111]/hook",
        "https://8.8.8.8/hook",
    ],
)
def test_public_addresses_are_accepted(url):
    check_webhook_url(url, test_mode=False)


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize("url", EMBEDDING_PRIVATE_IPV4[:4])
def test_the_api_refuses_them_on_the_field(tenant, url):
    response = tenant.client.post("/webhooks/", {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 400
    assert "non-public" in response.json()["url"][0]


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
def test_an_attempt_connects_to_the_checked_address_under_the_url_s_names():
    target = webhook_target("https://[64:ff9b::808:808]/in?x=1", test_mode=False, timeout=5)

    assert target.url == "https://[64:ff9b::808:808]:443/in?x=1"
    assert target.host_header == "[64:ff9b::808:808]"
    assert target.server_name == "64:ff9b::808:808"


def _hosts_received(test_tenant, host: str) -> tuple[list[str], int, int | None]:
    """One delivery to an endpoint on `host` and a local receiver's port: the Host
    headers the receiver got, its port, and the status the delivery recorded."""
    with running_receiver() as receiver:
        port = receiver.server.server_address[1]
        make_endpoint(test_tenant, f"http://{host}:{port}/hook")
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())

        attempt(delivery_id)

    hosts = [r.headers["host"] for r in receiver.received]
    return hosts, port, Delivery.objects.get(pk=delivery_id).last_status_code


def test_a_delivery_by_name_reaches_the_resolved_address_with_the_name_as_host(test_tenant):
    hosts, port, status = _hosts_received(test_tenant, "localhost")

    assert (hosts, status) == ([f"localhost:{port}"], 200)


def test_an_endpoint_that_now_resolves_privately_is_not_sent_to(test_tenant, settings):
    with running_receiver() as receiver:
        make_endpoint(test_tenant, receiver.url.replace("127.0.0.1", "[::127.0.0.1]"))
        _, event = record_customer_event(test_tenant)
        [delivery_id] = services.event_fan_out(event_id=event.id, now=timezone.now())
        settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False  # as if the name now led elsewhere

        outcome = attempt(delivery_id)

    assert outcome.retry_at is not None
    assert receiver.received == []
    last = DeliveryAttempt.objects.filter(delivery_id=delivery_id).latest("pk")
    assert "non-public" in last.error


def test_an_internationalized_host_name_is_sent_in_its_ascii_form(test_tenant, monkeypatch):
    resolve = socket.getaddrinfo

    def resolve_as_loopback(host, *args, **kwargs):  # the name's DNS record
        return resolve("127.0.0.1" if host == "bücher.localhost" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve_as_loopback)
    hosts, port, status = _hosts_received(test_tenant, "bücher.localhost")

    assert (hosts, status) == ([f"xn--bcher-kva.localhost:{port}"], 200)


@override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=False)
def test_a_url_whose_name_is_not_resolved_in_time_is_refused_on_the_field(tenant, monkeypatch):
    monkeypatch.setattr(url_safety, "URL_CHECK_LOOKUP_SECONDS", 0.5)
    answer = threading.Event()
    resolve = socket.getaddrinfo

    def slow_resolver(host, *args, **kwargs):
        if host == "slow.example.com":  # a public name the resolver answers, but late
            answer.wait(timeout=5)
            host = "8.8.8.8"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    started = time.monotonic()
    try:
        response = tenant.client.post(
            "/webhooks/", {"url": "https://slow.example.com/hook", "events": ["*"]}, format="json"
        )
    finally:
        answer.set()  # let the lookup given up on end

    assert time.monotonic() - started < 2
    assert response.status_code == 400, response.json()
    assert "not resolved in time" in response.json()["url"][0]
