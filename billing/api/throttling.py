from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from billing.cache import cache_count, cache_uncount
from billing.client_address import client_address


class AddressRateThrottle(SimpleRateThrottle):
    """A throttle that tells anonymous callers apart by the address billing.client_address
    decides, not by DRF's, which believes any X-Forwarded-For unless told otherwise."""

    def get_ident(self, request: Request) -> str:
        return client_address(request)


class TokenRateThrottle(AddressRateThrottle):
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

    @classmethod
    def user_window(cls, user_pk: Any) -> tuple[str, int] | None:
        """The counter a request of this user adds to in the current window and its time
        to live, or None when requests are not counted: for authentication to count a
        read in the same round trip as it reads the caller (billing.auth)."""
        throttle = cls()
        if throttle.rate is None:
            return None
        ident = throttle.cache_format % {"scope": throttle.scope, "ident": f"user:{user_pk}"}
        return throttle.window_key(ident), throttle.duration + 1

    def window_key(self, key: str) -> str:
        """The counter of `key`'s current window."""
        window, elapsed = divmod(int(self.timer()), self.duration)
        self.seconds_left = self.duration - elapsed
        return f"{key}:{window}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.window_key(self.get_cache_key(request, view))
        counted: tuple[str, int] | None = getattr(request, "counted_budget", None)
        if counted is not None and counted[0] == key:
            # Counted in authentication's round trip to the cache (billing.auth).
            request.counted_budget = None  # type: ignore[attr-defined]
            count = counted[1]
        else:
            count = cache_count(key, timeout=self.duration + 1)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.seconds_left


def budget_uncount(request: Request) -> None:
    """Take back a count authentication made for a request that never reached the budget
    (refused by authentication or permission), so only requests the budget judged count."""
    counted: tuple[str, int] | None = getattr(request, "counted_budget", None)
    if counted is not None:
        request.counted_budget = None  # type: ignore[attr-defined]
        cache_uncount(counted[0])
