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

from billing.auth_cache import (
    caller_cache_key,
    caller_drop,
    caller_keep,
    caller_kept,
    key_user,
    new_stamp,
)
from billing.cache import cache_authentication_round_trip
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
    request: Request,
    *,
    also_hold: tuple[str, int, int] | None = None,
    also_count: tuple[str, int] | None = None,
) -> Any:
    """Raise Throttled once the address failed too often. In the same round trip to the
    cache: the value held at `also_hold`'s key (key, value, seconds), set to its value when
    the key held none, which is returned; and the request budget's counter `also_count`
    (key, time to live), counted (`request.counted_budget`)."""
    key, limit, wait = _failure_window(request)
    if also_hold is None and also_count is None:
        failures, held = cache.get(key), None
    else:
        failures, held, count = cache_authentication_round_trip(
            key, hold=also_hold, count=also_count
        )
        if also_count is not None:
            request.counted_budget = (also_count[0], count)  # type: ignore[attr-defined]
    if (failures or 0) >= limit:
        raise exceptions.Throttled(wait, detail="Too many failed authentication attempts.")
    return held


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
        # A read may take the caller this process read under the cache's current stamp
        # (billing.auth_cache); a write reads it from the database.
        seconds = settings.API_KEY_CACHE_SECONDS if request.method in SAFE_METHODS else 0
        stamp = refuse_after_too_many_failures(
            request,
            also_hold=(caller_cache_key(key_hash), new_stamp(), seconds) if seconds > 0 else None,
            also_count=_budget_counted_here(request, key_hash) if seconds > 0 else None,
        )
        caller = caller_kept(key_hash, stamp) if seconds > 0 else None
        if caller is None:
            token = (
                ApiToken.objects.select_related("user")
                .filter(key_hash=key_hash, revoked_at__isnull=True)
                .first()
            )
            if token is None or not token.user.is_active:
                caller_drop(key_hash)
                raise _failed(request, "Invalid or revoked token.")
            if seconds == 0:
                return token.user, token
            caller = caller_keep(user=token.user, token=token, stamp=stamp)
        # Workspaces found for it are kept too (billing.tenancy).
        request.cached_caller = caller  # type: ignore[attr-defined]
        return caller.user, caller.token

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
