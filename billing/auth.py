"""Authentication: `Authorization: Token <key>` (API keys) and `Bearer <jwt>`, and the
limit on failed attempts per client address."""

import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from rest_framework import HTTP_HEADER_ENCODING, authentication, exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from billing.auth_cache import (
    CachedCaller,
    caller_cache_key,
    caller_drop,
    caller_keep,
    caller_kept,
    key_user,
    key_user_remember,
    new_stamp,
)
from billing.cache import cache_authentication_round_trip
from billing.client_address import client_address
from billing.compiled_reads import CompiledRead, NotCompilable, compiled_reads_run
from billing.models import ApiToken, Workspace
from billing.services.jwt_sessions import SESSION_CLAIM, jwt_session_is_open
from billing.services.workspaces import hash_token_key
from billing.tenancy import WORKSPACE_META_KEY

# Guessing keys, tokens or passwords: once an address has failed this often in the
# window (AUTH_FAILURE_RATE, "10/min"), it gets 429 until the window ends.


_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # as DRF's rates read


def _failure_window(request: Request) -> tuple[str, int, int]:
    """The cache key of the address's current window, its limit and seconds left."""
    count, period = settings.AUTH_FAILURE_RATE.split("/")
    limit, seconds = int(count), _PERIOD_SECONDS[period[0]]
    now = int(time.time())
    address = client_address(request)
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


def _view_takes_caller_from_cache(request: Request) -> bool:
    view = (request.parser_context or {}).get("view")
    return getattr(view, "takes_caller_from_cache", False)


def _authorization_header(request: Request) -> bytes:
    """DRF's `get_authorization_header`, read from META: `request.headers`, which it
    reads, builds a mapping of every header for this one."""
    header = request.META.get("HTTP_AUTHORIZATION", b"")
    if isinstance(header, str):
        header = header.encode(HTTP_HEADER_ENCODING)
    return header


# Per thread (a compiled read belongs to its thread's connection): a write's two reads,
# compiled by its first write, or None when they cannot be compiled.
_write_reads = threading.local()


def _active_token(key_hash: str) -> Any:
    return ApiToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True)


def _token_and_workspace(
    key_hash: str, workspace_id: str
) -> tuple[ApiToken | None, Workspace | None] | None:
    """The active token of `key_hash` with its user, and the workspace `workspace_id` when
    that user is a member of it: what a write reads about its caller (billing.tenancy
    takes the workspace from here), in one round trip with SQL compiled once instead of
    two queries the ORM builds on every request. None when they cannot be read this way
    (then each is read as a read-only request reads it)."""
    if not workspace_id or "\x00" in workspace_id:
        return None
    reads: tuple[CompiledRead, CompiledRead] | None
    if hasattr(_write_reads, "reads"):
        reads = _write_reads.reads
    else:
        try:
            reads = (
                CompiledRead(
                    _active_token(key_hash).select_related("user"), {"key_hash": key_hash}
                ),
                CompiledRead(
                    Workspace.objects.filter(
                        id=workspace_id,
                        memberships__user__in=_active_token(key_hash).values("user_id"),
                    ),
                    {"key_hash": key_hash, "workspace_id": workspace_id},
                ),
            )
        except NotCompilable:
            reads = None
        _write_reads.reads = reads
    if reads is None:
        return None
    token_read, workspace_read = reads
    tokens, workspaces = compiled_reads_run(
        [
            (token_read, {"key_hash": key_hash}),
            (workspace_read, {"key_hash": key_hash, "workspace_id": workspace_id}),
        ]
    )
    token = tokens[0] if tokens else None
    workspace = workspaces[0] if workspaces else None
    return token, workspace  # type: ignore[return-value]


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = _authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != self.keyword:
            return None
        if len(parts) != 2:
            refuse_after_too_many_failures(request)
            raise _failed(request, "Invalid token header: use `Authorization: Token <key>`.")
        key_hash = hash_token_key(parts[1].decode(errors="replace"))
        # A read may take the caller this process read under the cache's current stamp
        # (billing.auth_cache); a write reads it from the database, unless its view
        # changes none of what the caller is (`takes_caller_from_cache`).
        from_cache = request.method in SAFE_METHODS or _view_takes_caller_from_cache(request)
        seconds = settings.API_KEY_CACHE_SECONDS if from_cache else 0
        stamp = refuse_after_too_many_failures(
            request,
            also_hold=(caller_cache_key(key_hash), new_stamp(), seconds) if seconds > 0 else None,
            also_count=_budget_counted_here(request, key_hash),
        )
        caller = caller_kept(key_hash, stamp) if seconds > 0 else None
        if caller is None:
            workspace_id = request.META.get(WORKSPACE_META_KEY, "").strip()
            together = None if seconds > 0 else _token_and_workspace(key_hash, workspace_id)
            if together is None:
                token, workspace = _active_token(key_hash).select_related("user").first(), None
            else:
                token, workspace = together
            if token is None or not token.user.is_active:
                caller_drop(key_hash)
                raise _failed(request, "Invalid or revoked token.")
            if seconds == 0:
                key_user_remember(key_hash, token.user_id)
                if workspace is not None:
                    # Read with the token, from the database, for this request alone:
                    # billing.tenancy takes it from here.
                    request.cached_caller = CachedCaller(  # type: ignore[attr-defined]
                        user=token.user, token=token, stamp=0, workspaces={workspace_id: workspace}
                    )
                return token.user, token
            caller = caller_keep(user=token.user, token=token, stamp=stamp)
        # Workspaces found for it are kept too (billing.tenancy).
        request.cached_caller = caller  # type: ignore[attr-defined]
        return caller.user, caller.token

    def authenticate_header(self, request: Request) -> str:
        # DRF sends the first authenticator's challenge with every 401: a request that
        # sent a Bearer token is told the scheme it used (RFC 7235), not "Token".
        scheme = _authorization_header(request).partition(b" ")[0]
        if scheme.lower() == b"bearer":
            return JwtAuthentication().authenticate_header(request)
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

    def get_raw_token(self, header: bytes) -> bytes | None:
        # RFC 7235: the scheme is case-insensitive, and OAuth clients send `bearer` as
        # their token_type spells it; simplejwt compares it as written.
        scheme, space, rest = header.partition(b" ")
        if scheme.lower() == b"bearer":
            header = b"Bearer" + space + rest
        return super().get_raw_token(header)
