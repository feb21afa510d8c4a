"""Where a webhook may be sent: https in live mode, and never into private networks.

Checked when an endpoint is saved and again before every attempt, since a hostname can
be pointed at a private address after it was accepted.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(ValueError):
    pass


def check_webhook_url(url: str, *, test_mode: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Use an http or https URL.")
    if not test_mode and parts.scheme != "https":
        raise UnsafeUrl("Live-mode endpoints must use https.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("Credentials in the URL are not allowed.")
    if settings.WEBHOOKS_ALLOW_PRIVATE_URLS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port)}
    except (OSError, ValueError, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {parts.hostname!r} cannot be resolved.") from exc
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise UnsafeUrl(f"The host resolves to a non-public address ({ip}).")
