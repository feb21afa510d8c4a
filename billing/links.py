"""Absolute links the server hands out (signed PDF links, hosted checkout pages).

They are built from PUBLIC_URL, never from the request's Host header: a caller chooses
that header, and a link built from it would send a customer to the caller's host.
"""

from django.conf import settings


def public_url(path: str) -> str:
    """`path` (from `reverse`) under the server's public base URL."""
    return settings.PUBLIC_URL.rstrip("/") + "/" + path.lstrip("/")
