"""The client's address (billing.client_address): X-Forwarded-For is believed only as far
as the proxies NUM_PROXIES counts wrote it."""

from collections.abc import Iterator
from typing import Any

from django.test import RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given
from hypothesis import strategies as st

from billing.api.throttling import AddressRateThrottle
from billing.client_address import client_address

addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
# Whatever a client may write in the header itself: addresses, names, empty entries.
client_entries = st.lists(
    st.one_of(addresses, st.text(alphabet="abcdefxyz0123456789.:- ", max_size=20)), max_size=4
)


def request_with(remote_address: str, forwarded_for: list[str] | None):  # type: ignore[no-untyped-def]
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": ", ".join(forwarded_for)}
    return RequestFactory().get("/", REMOTE_ADDR=remote_address, **headers)


@given(
    client=addresses,
    sent=st.one_of(st.none(), client_entries),
    proxies=st.lists(addresses, max_size=3),
)
def test_the_address_is_the_one_the_outermost_proxy_saw(client, sent, proxies):
    """A client at `client` sends any header (or none) through `proxies`, outermost first:
    each appends the address it got the request from, and the server sees the last one
    connect."""
    forwarded_for = sent
    connected_from = client
    for proxy in proxies:
        forwarded_for = [*(forwarded_for or []), connected_from]
        connected_from = proxy

    with override_settings(NUM_PROXIES=len(proxies)):
        found = client_address(request_with(connected_from, forwarded_for))

    assert found == client


@given(remote=addresses, sent=client_entries)
def test_with_no_proxy_the_header_is_ignored(remote, sent):
    with override_settings(NUM_PROXIES=0):
        assert client_address(request_with(remote, sent)) == remote


def test_a_header_shorter_than_the_proxies_gives_its_first_entry():
    """The request passed fewer proxies than there are, e.g. reached the inner one
    directly: its first entry was written by the first proxy it met."""
    request = request_with("10.0.0.3", ["198.51.100.9"])

    with override_settings(NUM_PROXIES=2):
        assert client_address(request) == "198.51.100.9"


def test_an_empty_forwarded_entry_gives_the_connection_s_address():
    request = request_with("10.0.0.3", ["198.51.100.9", ""])

    with override_settings(NUM_PROXIES=1):
        assert client_address(request) == "10.0.0.3"


def _views(resolver: URLResolver) -> Iterator[Any]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern)
        elif isinstance(pattern, URLPattern):
            yield pattern.callback


def test_every_throttle_of_every_route_takes_the_address_from_here():
    """DRF's own get_ident believes any X-Forwarded-For: a throttle that used it would
    count each client's made-up addresses apart."""
    throttles = set()
    for callback in _views(get_resolver()):
        view_class = getattr(callback, "cls", None)
        if view_class is not None:
            throttles.update(getattr(view_class, "throttle_classes", ()))
            throttles.update(getattr(callback, "initkwargs", {}).get("throttle_classes", ()))

    assert throttles  # the routes were found
    assert [t for t in throttles if t.get_ident is not AddressRateThrottle.get_ident] == []
