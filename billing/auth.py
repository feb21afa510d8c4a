"""Authentication: `Authorization: Token <key>` (API keys) and `Bearer <jwt>`, and the
limit on failed attempts per client address."""

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.authentication import JWTAuthentication

from billing.auth_cache import CachedCaller, caller_cache_key, key_user, key_user_remember
from billing.cache import cache_read_and_count
from billing.models import ApiToken
from billing.services.jwt_sessions import SESSION_CLAIM, jwt_session_is_open
from billing.services.workspaces import hash_token_key

# Guessing keys, tokens or passwords: once an address has failed this often in the
# window (AUTH_FAILURE_RATE, "10/min"), it gets 429 until the window ends.


_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # as DRF's rates read


def _failure_window(request: Request) -> tuple[str, int, int]:
    """The cache key of the address's current window, its limit and seconds left."""
    count, period = settings.AUTH_FAILURE_RATE.split("/")
    limit, seconds = int(count), _PERIOD_SECONDS[period[0]]
    now = int(time.time())
    address = BaseThrottle().get_ident(request)
    return f"auth-failures:{address}:{now // seconds}", limit, seconds - now % seconds


def refuse_after_too_many_failures(
    request: Request, *, also_read: str = "", also_count: tuple[str, int] | None = None
) -> Any:
    """Raise Throttled once the address failed too often; the cached value of `also_read`,
    read in the same round trip to the cache, where the request's budget counter
    `also_count` (key, time to live) is counted too (`request.counted_budget`)."""
    key, limit, wait = _failure_window(request)
    keys = [key, also_read] if also_read else [key]
    if also_count is None:
        found = cache.get_many(keys)
    else:
        found, count = cache_read_and_count(keys, also_count[0], timeout=also_count[1])
        request.counted_budget = (also_count[0], count)  # type: ignore[attr-defined]
    if found.get(key, 0) >= limit:
        raise exceptions.Throttled(wait, detail="Too many failed authentication attempts.")
    return found.get(also_read)


def record_authentication_failure(request: Request) -> None:
    key, _, wait = _failure_window(request)
    cache.add(key, 0, timeout=wait + 1)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr: this failure opens a new window
        cache.add(key, 1, timeout=wait + 1)


def _failed(request: Request, message: str) -> exceptions.AuthenticationFailed:
    record_authentication_failure(request)
    return exceptions.AuthenticationFailed(message)


def _budget_counted_here(request: Request, key_hash: str) -> tuple[str, int] | None:
    """The request budget's counter to count in authentication's round trip to the cache,
    once the key's user is known to this process: for a view that takes the count back
    when the request is refused before its budget is judged
    (`counts_budget_on_authentication`), from its throttle that can say which counter a
    user's request adds to (`user_window`, billing.api.throttling)."""
    view = (request.parser_context or {}).get("view")
    if not getattr(view, "counts_budget_on_authentication", False):
        return None
    user_pk = key_user(key_hash)
    if user_pk is None:
        return None
    for throttle_class in getattr(view, "throttle_classes", ()):
        user_window = getattr(throttle_class, "user_window", None)
        if user_window is not None:
            window: tuple[str, int] | None = user_window(user_pk)
            return window
    return None


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != self.keyword:
            return None
        if len(parts) != 2:
            refuse_after_too_many_failures(request)
            raise _failed(request, "Invalid token header: use `Authorization: Token <key>`.")
        key_hash = hash_token_key(parts[1].decode(errors="replace"))
        # A read may take the caller from the cache (billing.auth_cache); a write reads it.
        reads = request.method in SAFE_METHODS and settings.API_KEY_CACHE_SECONDS > 0
        cached = refuse_after_too_many_failures(
            request,
            also_read=caller_cache_key(key_hash) if reads else "",
            also_count=_budget_counted_here(request, key_hash) if reads else None,
        )
        if isinstance(cached, CachedCaller):
            request.cached_caller = cached  # type: ignore[attr-defined]
            key_user_remember(key_hash, cached.user.pk)
            return cached.user, cached.token
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=key_hash, revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise _failed(request, "Invalid or revoked token.")
        key_user_remember(key_hash, token.user_id)
        if reads:
            # Stored once the workspace is known (billing.tenancy).
            request.cached_caller = CachedCaller(user=token.user, token=token)  # type: ignore[attr-defined]
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class JwtAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication, for tokens of an open session (revoking the API
    token they were minted from ends it); a malformed header is a 401, never a 500."""

    def authenticate(self, request: Request) -> Any:
        if self.get_header(request) is None:
            return None
        refuse_after_too_many_failures(request)
        try:
            result = super().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            raise _failed(request, "Invalid or expired bearer token.") from exc
        except (UnicodeDecodeError, ValueError) as exc:
            raise _failed(request, "Invalid bearer token.") from exc
        if result is not None and not jwt_session_is_open(session_id=result[1].get(SESSION_CLAIM)):
            raise _failed(request, "This token's session was revoked.")
        return result
