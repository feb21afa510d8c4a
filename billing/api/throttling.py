from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from billing.cache import cache_count


class TokenRateThrottle(SimpleRateThrottle):
    """A request budget per caller: per user when authenticated, per address otherwise.

    Counted per fixed window of the rate's period (a counter per window, one cache round
    trip per request on Redis) rather than DRF's list of every request's time, which is
    read and written back whole on every request and grows with the budget."""

    scope = "token"
    # Set from the rate by SimpleRateThrottle.__init__.
    num_requests: int
    duration: int

    def get_cache_key(self, request: Request, view: Any) -> str:
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        window, elapsed = divmod(int(self.timer()), self.duration)
        self.seconds_left = self.duration - elapsed
        count = cache_count(f"{key}:{window}", timeout=self.duration + 1)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.seconds_left
