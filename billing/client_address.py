"""The address a request comes from: the one place it is decided, for the lockout after
failed authentication (billing.auth) and the request budgets kept per address
(billing.api.throttling, payments.api.throttling).

X-Forwarded-For is whatever the client sent, with one address appended by each proxy the
request went through. Only what the server's own proxies appended can be believed, and
NUM_PROXIES says how many stand in front of it: the entry that many places from the end
is the address the outermost proxy saw. With none (the default), the header is the
client's own text and the connection's address is used: a client that sent a new header
on each attempt would otherwise escape both the lockout and the budget.
"""

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def client_address(request: Request | HttpRequest) -> str:
    remote_address = str(request.META.get("REMOTE_ADDR") or "")
    proxies: int = settings.NUM_PROXIES
    forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded_for:
        return remote_address
    entries = forwarded_for.split(",")
    # Fewer entries than proxies: the request passed fewer of them, the first of which
    # wrote the first entry.
    forwarded = entries[-min(proxies, len(entries))].strip()
    return forwarded or remote_address
