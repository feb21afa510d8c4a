"""Limits on the publishable (browser) routes: whoever holds a checkout's key could
otherwise try card after card against it (card testing). Each key, and each client
address, gets a budget of attempts (PUBLISHABLE_KEY_RATE, PUBLISHABLE_ADDRESS_RATE)."""

import hashlib
from typing import Any

from django.conf import settings
from rest_framework.request import Request

from billing.api.throttling import AddressRateThrottle


class _SettingRateThrottle(AddressRateThrottle):
    rate_setting = ""

    def get_rate(self) -> str:
        # Read at each request, not bound at import as DRF's rates are.
        return str(getattr(settings, self.rate_setting))


class PublishableKeyThrottle(_SettingRateThrottle):
    """Per checkout: the key in the body, or the payment named in the path."""

    scope = "publishable_key"
    rate_setting = "PUBLISHABLE_KEY_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        ident = view.kwargs.get("payment_id") or data.get("key")
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
