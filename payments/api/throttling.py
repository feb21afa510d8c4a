"""Limits on the publishable (browser) routes: whoever holds a checkout's key could
otherwise try card after card against it (card testing). Each key, and each client
address, gets a budget of attempts (PUBLISHABLE_KEY_RATE, PUBLISHABLE_ADDRESS_RATE).
The hosted pages' card forms spend the same budgets (`hosted_card_attempt_wait`)."""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

from billing.api.throttling import AddressRateThrottle


class _SettingRateThrottle(AddressRateThrottle):
    rate_setting = ""

    def get_rate(self) -> str:
        # Read at each request, not bound at import as DRF's rates are.
        return str(getattr(settings, self.rate_setting))


class PublishableKeyThrottle(_SettingRateThrottle):
    """Per checkout: the key in the body, the payment named in the path, or the key a
    hosted page was opened by."""

    scope = "publishable_key"
    rate_setting = "PUBLISHABLE_KEY_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = getattr(request, "data", None)
        data = data if isinstance(data, dict) else {}
        ident = view.kwargs.get("payment_id") or view.kwargs.get("checkout_key") or data.get("key")
        if not isinstance(ident, str) or not ident:
            return None  # nothing to open: the view answers 400 or 404
        # The key is whatever the caller sent: hashed, any text makes a short, plain cache key.
        digest = hashlib.sha256(ident.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class PublishableAddressThrottle(_SettingRateThrottle):
    """Per client address, across every key it tries."""

    scope = "publishable_address"
    rate_setting = "PUBLISHABLE_ADDRESS_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


@dataclass(frozen=True)
class _HostedPage:
    """What a throttle reads of a view: the checkout's key the hosted page was opened by."""

    kwargs: dict[str, str] = field(default_factory=dict)


def hosted_card_attempt_wait(request: HttpRequest, key: str) -> float | None:
    """Count a card posted on a hosted page (a link's or an intent's checkout, a card
    setup), opened by `key`, against the publishable budgets: None while both allow it,
    else the seconds until they do. As DRF checks a view's throttles, each budget counts
    the attempt it allows."""
    page = _HostedPage(kwargs={"checkout_key": key})
    waits = [
        throttle.wait() or 0.0
        for throttle in (PublishableKeyThrottle(), PublishableAddressThrottle())
        if not throttle.allow_request(request, page)  # type: ignore[arg-type]
    ]
    return max(waits) if waits else None
