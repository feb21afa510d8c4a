"""Where a webhook may be sent: https in live mode, and never into private networks.

Checked when an endpoint is saved and again before every attempt, since a hostname can
be pointed at a private address after it was accepted; the attempt then connects to the
address it checked (`webhook_target`), not to a second resolution of the name.
"""

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6052's well-known NAT64 prefix: the last 32 bits are the IPv4 address reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# RFC 8215's prefix for local NAT64 translators: private whatever it embeds.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
# Deprecated IPv4-compatible addresses (::a.b.c.d).
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


# Every name lookup runs here, so its caller stops waiting at its time limit (an
# attempt's deadline, or an endpoint save's): getaddrinfo takes no timeout. A lookup given
# up on keeps its thread until the resolver answers; a few threads bound how many of those
# a stuck resolver can pile up (lookups queued behind them time out in turn).
_lookups = ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-lookup")

# How long saving an endpoint waits for its host's name: the API request waits with it.
URL_CHECK_LOOKUP_SECONDS = 5.0


class UnsafeUrl(ValueError):
    pass


class LookupTimeout(Exception):
    """The host's name was not resolved within the attempt's time limit."""


@dataclass(frozen=True)
class WebhookTarget:
    """Where one attempt connects: the checked address, and the names the receiver
    expects in the Host header and the TLS handshake."""

    url: str  # the endpoint's URL with the host replaced by the checked address
    host_header: str
    server_name: str


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries traffic to, if it embeds one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Global unicast, and so is any IPv4 address it embeds: `is_global` alone counts
    6to4, NAT64 and IPv4-compatible addresses as global whatever they lead to."""
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
    return True


def _checked_parts(url: str, *, test_mode: bool) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Use an http or https URL.")
    if not test_mode and parts.scheme != "https":
        raise UnsafeUrl("Live-mode endpoints must use https.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("Credentials in the URL are not allowed.")
    _port(parts)  # checked here too: private targets allowed skip the resolution
    return parts


def _port(parts: SplitResult) -> int:
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("The URL's port is not a number from 0 to 65535.") from exc


def _resolved_addresses(parts: SplitResult, timeout: float) -> list[IPAddress]:
    """Every address the host resolves to, each checked unless private ones are allowed;
    LookupTimeout if the resolver has not answered within `timeout` seconds."""
    assert parts.hostname is not None
    args = (parts.hostname, _port(parts))
    try:
        lookup = _lookups.submit(socket.getaddrinfo, *args, type=socket.SOCK_STREAM)
        try:
            infos = lookup.result(timeout=max(timeout, 0))
        except FutureTimeout as exc:
            lookup.cancel()  # not started yet (queued behind stuck ones): never start
            raise LookupTimeout(f"The host {parts.hostname!r} was not resolved in time.") from exc
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {parts.hostname!r} cannot be resolved.") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        for ip in addresses:
            if not is_public_address(ip):
                raise UnsafeUrl(f"The host resolves to a non-public address ({ip}).")
    return addresses


def check_webhook_url(url: str, *, test_mode: bool) -> None:
    """Raise UnsafeUrl unless the URL may be saved as an endpoint."""
    parts = _checked_parts(url, test_mode=test_mode)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        try:
            _resolved_addresses(parts, URL_CHECK_LOOKUP_SECONDS)
        except LookupTimeout as exc:
            raise UnsafeUrl(
                f"The host {parts.hostname!r} was not resolved in time "
                f"({URL_CHECK_LOOKUP_SECONDS:g} s); check its DNS records and try again."
            ) from exc


def webhook_target(url: str, *, test_mode: bool, timeout: float) -> WebhookTarget:
    """Resolve and check the URL's host now, for one attempt; raise UnsafeUrl if it may
    not be sent to, LookupTimeout if its name is not resolved within `timeout` seconds."""
    parts = _checked_parts(url, test_mode=test_mode)
    address = _resolved_addresses(parts, timeout)[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = parts._replace(netloc=f"{literal}:{_port(parts)}")
    assert parts.hostname is not None
    if parts.netloc.isascii():
        return WebhookTarget(
            url=pinned.geturl(), host_header=parts.netloc, server_name=parts.hostname
        )
    # An internationalized name goes in the Host header and the TLS handshake in its
    # ASCII (IDNA) form, the one it was resolved by: HTTP headers are ASCII.
    name = parts.hostname.encode("idna").decode("ascii")
    host_header = name if parts.port is None else f"{name}:{parts.port}"
    return WebhookTarget(url=pinned.geturl(), host_header=host_header, server_name=name)
